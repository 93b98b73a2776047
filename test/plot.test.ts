/** `detc plot`: a run's losses, learning rate and AP curves from its metrics.jsonl. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { XMLValidator } from "fast-xml-parser";
import sharp from "sharp";
import { describe, expect, inject, it } from "vitest";
import { curvesSvg } from "../src/diagram/curves.js";
import { MetricsLog, type MetricsRecord } from "../src/train/metrics-log.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function records(): MetricsRecord[] {
  const steps: MetricsRecord[] = Array.from({ length: 40 }, (_, i) => ({
    type: "step",
    step: i + 1,
    epoch: Math.floor(i / 20),
    lr: 0.02 * Math.min(1, (i + 1) / 10),
    loss: 2 / (i + 1) + 0.4,
    losses: { loss_objectness: 0.5 / (i + 1), loss_rpn_box_reg: 0.1, loss_classifier: 1 / (i + 1) + 0.2, loss_box_reg: 0.5 / (i + 1) + 0.1 },
    seconds: 0.1,
  }));
  const evals: MetricsRecord[] = [
    { type: "eval", step: 20, epoch: 0, AP: 0.12, AP50: 0.31 },
    { type: "eval", step: 40, epoch: 1, AP: 0.25, AP50: 0.52 },
  ];
  return [...steps, ...evals];
}

function runDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "detc-run-"));
  const log = new MetricsLog(join(dir, "metrics.jsonl"));
  for (const record of records()) log.append(record);
  return dir;
}

const seriesOf = (svg: string) => new Map([...svg.matchAll(/<path class="series" data-name="([^"]+)" d="([^"]+)"/g)].map((m) => [m[1]!, m[2]!.split(/[ML]/).length - 1]));

describe("curves", () => {
  it("one line per loss part and for lr over every step, AP and AP50 over every evaluation", () => {
    const svg = curvesSvg(records(), "run test");
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(Object.fromEntries(seriesOf(svg))).toEqual({
      loss: 40,
      loss_objectness: 40,
      loss_rpn_box_reg: 40,
      loss_classifier: 40,
      loss_box_reg: 40,
      lr: 40,
      AP: 2,
      AP50: 2,
    });
    for (const title of ["losses per step", "learning rate per step", "COCO AP per evaluation"]) expect(svg).toContain(title);
  });

  it("a run without evaluations yet still plots, saying so", () => {
    const svg = curvesSvg([], "run empty");
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg.match(/no records yet/g)).toHaveLength(3);
  });
});

describe("detc plot", () => {
  it("writes an SVG, or a PNG by the output's extension", async () => {
    const dir = runDir();
    expect(detc("plot", dir, "-o", join(dir, "curves.svg")).code).toBe(0);
    expect(XMLValidator.validate(readFileSync(join(dir, "curves.svg"), "utf8"))).toBe(true);
    expect(detc("plot", dir, "-o", join(dir, "curves.png")).code).toBe(0);
    const png = readFileSync(join(dir, "curves.png"));
    expect(png.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect((await sharp(png).metadata()).width).toBeGreaterThan(760);
  });

  it("a folder without metrics.jsonl is a usage error (exit 2)", () => {
    const { code, stderr } = detc("plot", tmpdir(), "-o", join(mkdtempSync(join(tmpdir(), "detc-")), "c.svg"));
    expect(code).toBe(2);
    expect(stderr).toContain("has no metrics.jsonl");
  });
});
