/** The run folder: one run at a time, stale locks taken over, and a metrics log cut back on resume. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MetricsLog } from "../../src/train/metrics-log.js";
import { LOCK_FILE, openRunFolder } from "../../src/train/run-folder.js";
import { UsageError } from "../../src/util/usage-error.js";

const folder = () => mkdtempSync(join(tmpdir(), "detc-folder-"));
const lockOf = (pid: number, host = hostname()) => JSON.stringify({ pid, host, since: "2026-01-01T00:00:00.000Z" });

describe("the run folder's lock", () => {
  it("is held by one run at a time and released when it ends", () => {
    const dir = folder();
    const first = openRunFolder(dir, "fresh");
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), "utf8"))).toMatchObject({ pid: process.pid, host: hostname() });
    expect(() => openRunFolder(dir, "resume")).toThrow(new RegExp(`is in use by another run \\(PID ${process.pid} on `));
    first.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    openRunFolder(dir, "resume").release();
  });

  it("of a process that is gone is taken over, with a note", () => {
    const dir = folder();
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid!;
    writeFileSync(join(dir, LOCK_FILE), lockOf(gone));
    const opened = openRunFolder(dir, "resume");
    expect(opened.notes).toEqual([`took over the lock of run PID ${gone} on ${hostname()}, since 2026-01-01T00:00:00.000Z, which is no longer running`]);
    opened.release();
  });

  it("of another machine, or not written by detc, is left for the user to judge", () => {
    const dir = folder();
    writeFileSync(join(dir, LOCK_FILE), lockOf(1, "elsewhere"));
    expect(() => openRunFolder(dir, "resume")).toThrow(/locked by a run on another machine \(PID 1 on elsewhere, .*\); if that run has ended, delete/);
    writeFileSync(join(dir, LOCK_FILE), "");
    expect(() => openRunFolder(dir, "resume")).toThrow(UsageError);
  });
});

describe("the metrics log on resume", () => {
  it("drops a line torn by a kill and the steps after the checkpoint's, so no step is logged twice", () => {
    const path = join(folder(), "metrics.jsonl");
    const step = (n: number) => JSON.stringify({ type: "step", step: n, epoch: 0, lr: 0.1, loss: 1, losses: {}, seconds: 1 });
    writeFileSync(path, [step(1), step(2), JSON.stringify({ type: "eval", step: 2, epoch: 0, AP: 0.5 }), step(3), '{"type":"step","st'].join("\n"));
    const log = new MetricsLog(path);
    log.truncateAfter(2);
    log.append(JSON.parse(step(3)));
    expect(log.read().map((r) => `${r.type} ${r.step}`)).toEqual(["step 1", "step 2", "eval 2", "step 3"]);
    expect(readFileSync(path, "utf8").endsWith("\n")).toBe(true);
  });
});
