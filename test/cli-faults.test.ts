/**
 * Runs that survive faults, tried as users meet them, on the real CLI in a child process: Ctrl-C and
 * SIGTERM mid-step, a second Ctrl-C, SIGKILL at random moments then --resume, a write that fails
 * part-way (`ulimit -f`), a truncated image met mid-run, a second run on a held folder, and inputs
 * refused before any work. Each asserts the exit code, the message, that the checkpoint loads and
 * holds the expected step, and that metrics.jsonl has each step once.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, inject, it } from "vitest";
import { batches } from "../src/data/loader.js";
import type { DetectionDataset, DetectionSample } from "../src/data/dataset.js";
import { readCheckpoint } from "../src/train/checkpoint.js";
import { tinyDetectorSource } from "./support/tiny-detector.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const env = { ...process.env, NO_COLOR: "1" };

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A run in the background, its stderr collected, and how long it took to exit after `signalled`. */
function start(args: readonly string[], shell?: string) {
  const child: ChildProcess = shell
    ? spawn("bash", ["-c", `${shell}; exec "$0" "$@"`, process.execPath, cli, ...args], { cwd: root, env })
    : spawn(process.execPath, [cli, ...args], { cwd: root, env });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { child, exited, stderr: () => stderr };
}

/** Each test trains in child processes: seconds on an idle machine, minutes on a busy one. */
const TIMEOUT = 600_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, child: ChildProcess, what: string, seconds = 120): Promise<void> {
  const deadline = performance.now() + seconds * 1000;
  while (!condition()) {
    if (child.exitCode !== null) throw new Error(`the run exited (${child.exitCode}) before ${what}`);
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const SPEC = tinyDetectorSource({ train: "batch_size 2 epochs 1 lr 0.01 warmup_steps 2 checkpoint_every 1 frozen_batch_norm false" });

function runFolder(spec = SPEC) {
  const dir = mkdtempSync(join(tmpdir(), "detc-faults-"));
  writeFileSync(join(dir, "tiny.det"), spec);
  return { dir, spec: join(dir, "tiny.det"), out: join(dir, "run") };
}

const stepsLogged = (out: string): number[] =>
  existsSync(join(out, "metrics.jsonl"))
    ? readFileSync(join(out, "metrics.jsonl"), "utf8")
        .split("\n")
        .flatMap((line) => {
          try {
            const record = JSON.parse(line);
            return record.type === "step" ? [record.step as number] : [];
          } catch {
            return [];
          }
        })
    : [];
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const checkpointStep = (out: string) => readCheckpoint(join(out, "checkpoint.safetensors")).state.step;
/** Nothing a run writes on the way is left behind: no temporaries, no lock. */
const leftovers = (out: string) => readdirSync(out).filter((name) => name.includes(".tmp-") || name === "detc.lock");

describe("interrupting a run", () => {
  it("Ctrl-C mid-step saves the last completed step and exits 130; --resume logs every step once", async () => {
    const { spec, out } = runFolder();
    const run = start(["run", spec, "--out", out, "--max-steps", "200"]);
    await until(() => stepsLogged(out).length >= 2, run.child, "two steps");
    run.child.kill("SIGINT");
    const signalled = performance.now();
    const { code } = await run.exited;
    expect(code, run.stderr()).toBe(130);
    expect(performance.now() - signalled).toBeLessThan(60_000); // one step and a checkpoint; a hang never ends
    expect(run.stderr()).toContain("SIGINT: stopping after this step with a checkpoint");
    const steps = stepsLogged(out);
    expect(steps).toEqual(upTo(steps.length));
    expect(checkpointStep(out)).toBe(steps.length);
    expect(leftovers(out)).toEqual([]);

    const resumed = detc("run", spec, "--out", out, "--resume", "--max-steps", String(steps.length + 1), "--json");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ steps: steps.length + 1, resumedFrom: steps.length, stopped: false });
    expect(stepsLogged(out)).toEqual(upTo(steps.length + 1));
  }, TIMEOUT);

  it("a second Ctrl-C quits at once and leaves the last checkpoint complete", async () => {
    const { spec, out } = runFolder();
    const run = start(["run", spec, "--out", out, "--max-steps", "200"]);
    await until(() => existsSync(join(out, "checkpoint.safetensors")), run.child, "a checkpoint");
    run.child.kill("SIGINT");
    run.child.kill("SIGINT");
    const { code } = await run.exited;
    expect(code, run.stderr()).toBe(130);
    const steps = stepsLogged(out);
    expect(steps).toEqual(upTo(steps.length));
    expect(checkpointStep(out)).toBeLessThanOrEqual(steps.length);
    expect(leftovers(out)).toEqual([]);
  }, TIMEOUT);

  it("SIGTERM stops like Ctrl-C (exit 143); meanwhile a second run on the folder is refused at once", async () => {
    const { spec, out } = runFolder();
    const run = start(["run", spec, "--out", out, "--max-steps", "200"]);
    await until(() => stepsLogged(out).length >= 1, run.child, "a step");
    const second = detc("run", spec, "--out", out, "--resume", "--max-steps", "3");
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(new RegExp(`^detc: ${out} is in use by another run \\(PID ${run.child.pid} on .*\\); wait for it to end, or choose another --out`));
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    expect(code, run.stderr()).toBe(143);
    const steps = stepsLogged(out);
    expect(checkpointStep(out)).toBe(steps.length);
    expect(leftovers(out)).toEqual([]);
  }, TIMEOUT);

  it("SIGKILL at random moments, then --resume: the checkpoint loads and every step is logged once", async () => {
    const { spec, out } = runFolder();
    // Room for both kills to land mid-run (each a few steps in, plus up to 400 ms): a run that
    // finished before its kill would release the lock, and there would be none to take over.
    const total = 16;
    for (let trial = 0; trial < 2; trial++) {
      const run = start(["run", spec, "--out", out, "--max-steps", String(total), ...(trial > 0 ? ["--resume"] : [])]);
      const after = stepsLogged(out).length + 1 + Math.floor(Math.random() * 3);
      await until(() => stepsLogged(out).length >= after || run.child.exitCode !== null, run.child, "steps", 120).catch(() => {});
      await sleep(Math.random() * 400);
      run.child.kill("SIGKILL");
      expect((await run.exited).signal, "the run ended before its kill").toBe("SIGKILL");
      const logged = stepsLogged(out);
      expect(logged.length).toBeGreaterThan(0);
      if (existsSync(join(out, "checkpoint.safetensors"))) expect(checkpointStep(out)).toBeLessThanOrEqual(Math.max(...logged));
    }
    const resumed = detc("run", spec, "--out", out, "--resume", "--max-steps", String(total), "--json");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/note: took over the lock of run PID \d+ .*, which is no longer running/);
    expect(checkpointStep(out)).toBe(total);
    expect(stepsLogged(out)).toEqual(upTo(total));
    const evaluations = readFileSync(join(out, "metrics.jsonl"), "utf8").split("\n").filter((line) => line.includes('"type":"eval"'));
    expect(evaluations.filter((line) => line.includes(`"step":${total},`))).toHaveLength(1);
    expect(leftovers(out)).toEqual([]);
  }, TIMEOUT);
});

describe("failures end the run with their cause", () => {
  it("a write that fails part-way (ulimit -f) keeps the old checkpoint, removes the temporary and exits 1 naming the file", async () => {
    const { spec, out } = runFolder();
    const first = detc("run", spec, "--out", out, "--max-steps", "1");
    expect(first.code, first.stderr).toBe(0);
    // The checkpoint is ~7 MB; 2 MB (ulimit counts 1 KiB blocks) lets the metrics grow but not it.
    // Bash ignores SIGXFSZ first, so the write reports EFBIG instead of killing the process.
    const limited = start(["run", spec, "--out", out, "--resume", "--max-steps", "4"], "trap '' XFSZ; ulimit -f 2048");
    const { code } = await limited.exited;
    expect(code, limited.stderr()).toBe(1);
    const checkpoint = join(out, "checkpoint.safetensors");
    expect(limited.stderr()).toContain(`detc: step 3: cannot write ${checkpoint}: the file would exceed the size limit (see \`ulimit -f\`) (EFBIG); checkpoint.safetensors was left as it was; the last checkpoint, ${checkpoint}, holds step 1`);
    expect(checkpointStep(out)).toBe(1);
    expect(leftovers(out)).toEqual([]);
    const resumed = detc("run", spec, "--out", out, "--resume", "--max-steps", "3");
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(stepsLogged(out)).toEqual([1, 2, 3]);
  }, TIMEOUT);

  it("a truncated image met mid-run ends the run at once with exit 1, naming the file and the step", async () => {
    const { dir, out } = runFolder();
    mkdirSync(join(dir, "images"));
    const names = ["a.png", "b.png", "c.png", "d.png"];
    for (const [i, name] of names.entries())
      await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 40 * i, g: 200, b: 90 } } })
        .png({ compressionLevel: 0 })
        .toFile(join(dir, "images", name));
    writeFileSync(
      join(dir, "instances.json"),
      JSON.stringify({
        images: names.map((file_name, i) => ({ id: i + 1, file_name, width: 64, height: 64 })),
        annotations: names.map((_, i) => ({ id: i + 1, image_id: i + 1, category_id: (i % 4) + 1, bbox: [10, 10, 30, 30] })),
        categories: ["circle", "square", "triangle", "cross"].map((name, i) => ({ id: i + 1, name })),
      }),
    );
    // The image the third step reads (one per step), in the seeded order the trainer uses.
    const samples = names.map((name, i) => ({ id: i + 1, name }) as unknown as DetectionSample);
    const dataset: DetectionDataset = { kind: "coco", split: "train", classNames: [], samples, warnings: [] };
    const order = [...batches(dataset, { batchSize: 1, seed: 0, epochs: 1 })].map((b) => b.samples[0]!.name);
    const broken = join(dir, "images", order[2]!);
    truncateSync(broken, 200);
    const spec = join(dir, "coco.det");
    writeFileSync(spec, SPEC.replace("batch_size 2", "batch_size 1") + 'dataset coco train "instances.json" images "images"\n');

    const started = performance.now();
    const run = detc("run", spec, "--out", out, "--max-steps", "4");
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toMatch(new RegExp(`^detc: step 3: ${broken}: cannot decode image \\(.*\\); the last checkpoint, .* holds step 1$`, "m"));
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(performance.now() - started).toBeLessThan(120_000); // three steps; a hang never ends
    expect(checkpointStep(out)).toBe(1);
    expect(stepsLogged(out)).toEqual([1, 2]);
    expect(leftovers(out)).toEqual([]);
  }, TIMEOUT);
});

describe("inputs are checked before any work", () => {
  it("refuses bad paths and option values with exit 2, and unusable data with exit 1", async () => {
    const { dir, spec, out } = runFolder();
    const cases: [string[], number, RegExp][] = [
      [["run", join(dir, "missing.det")], 2, /cannot read .*missing\.det: no such file/],
      [["run", dir], 2, /cannot read .*: it is a directory/],
      [["run", spec, "--max-steps", "0"], 2, /--max-steps takes a positive whole number, not "0"/],
      [["run", spec, "--max-steps", "2.5"], 2, /--max-steps takes a positive whole number/],
      [["run", spec, "--resume", "--overwrite"], 2, /--resume and --overwrite exclude each other/],
      [["run", spec, "--out", join(spec, "sub")], 2, /cannot use --out .*tiny\.det\/sub: it is a file, not a folder/],
      [["run", spec, "--out", out, "--init", join(dir, "none.pth")], 2, /cannot read --init .*none\.pth: no such file/],
      [["predict", spec, "--weights", join(dir, "none.safetensors"), spec], 2, /cannot read --weights .*: no such file/],
      [["predict", spec, "--init", spec, "--min-score", "abc", spec], 2, /--min-score takes a number from 0 to 1, not "abc"/],
      [["predict", spec, "--init", spec, "--min-score", "2", spec], 2, /--min-score takes a number from 0 to 1, not "2"/],
      [["predict", spec, "--init", spec, dir], 2, /cannot read image .*: it is a directory/],
      [["eval", spec, "--weights", dir], 2, /cannot read --weights .*: it is a directory/],
    ];
    for (const [args, code, message] of cases) {
      const result = detc(...args);
      expect([result.code, result.stderr], args.join(" ")).toEqual([code, expect.stringMatching(message)]);
    }
    expect(existsSync(out)).toBe(false);

    const crowd = join(dir, "crowd.json");
    writeFileSync(
      crowd,
      JSON.stringify({
        images: [{ id: 1, file_name: "tiny.det", width: 64, height: 64 }],
        annotations: [{ id: 1, image_id: 1, category_id: 1, bbox: [1, 1, 20, 20], iscrowd: 1 }],
        categories: ["circle", "square", "triangle", "cross"].map((name, i) => ({ id: i + 1, name })),
      }),
    );
    writeFileSync(join(dir, "crowd.det"), SPEC + 'dataset coco train "crowd.json" images "."\n');
    const allCrowd = detc("run", join(dir, "crowd.det"), "--out", join(dir, "crowd-run"));
    expect(allCrowd.code).toBe(1);
    expect(allCrowd.stderr).toMatch(/detc: all 1 boxes of the coco train split are crowd regions \(iscrowd 1\), which training leaves out/);
  }, TIMEOUT);

  it("a fresh run refuses a folder holding another run unless --resume or --overwrite", () => {
    const { spec, out } = runFolder();
    mkdirSync(out);
    writeFileSync(join(out, "metrics.jsonl"), '{"type":"step","step":1}\n{"type":"st');
    writeFileSync(join(out, "checkpoint.safetensors.tmp-999999"), "partial");
    const fresh = detc("run", spec, "--out", out, "--max-steps", "1");
    expect(fresh.code).toBe(2);
    expect(fresh.stderr).toContain(`${out} holds another run (metrics.jsonl); pass --resume to continue it, --overwrite to start over`);
    const over = detc("run", spec, "--out", out, "--max-steps", "1", "--overwrite");
    expect(over.code, over.stderr).toBe(0);
    expect(over.stderr).toContain("note: removed checkpoint.safetensors.tmp-999999, left by a run that was killed while writing");
    expect(over.stderr).toContain("note: --overwrite: removed the previous run's metrics.jsonl");
    expect(stepsLogged(out)).toEqual([1]);
    expect(leftovers(out)).toEqual([]);
  }, TIMEOUT);
});
