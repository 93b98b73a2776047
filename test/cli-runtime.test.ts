/** The runtime commands as users run them: summary, eval on a results file, run → predict → eval. */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { tinyDetectorSource } from "./support/tiny-detector.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const temp = () => mkdtempSync(join(tmpdir(), "detc-cli-"));

describe("detc summary", () => {
  it("builds the real model; its counts equal the checker's for every seed example", () => {
    for (const name of ["vgg16_bn", "resnet50", "efficientnet_b0", "mobilenet_v3_large_fpn", "efficientnet_b0_fpn"]) {
      const file = `examples/${name}.det`;
      const summary = detc("summary", file, "--json");
      expect(summary.code, summary.stderr).toBe(0);
      const checked = JSON.parse(detc("check", file, "--json").stdout).files[0].detectors[0].parameters;
      const built = JSON.parse(summary.stdout);
      expect(built.parameters).toEqual(checked);
      expect(["tensorflow-gpu", "tensorflow", "wasm", "cpu"]).toContain(built.backend);
    }
  });

  it("refuses a spec with errors and shows them", () => {
    const dir = temp();
    writeFileSync(join(dir, "bad.det"), "detector d\nbackbone resnet50\ntap layer9\nclasses 21\n");
    const { code, stderr } = detc("summary", join(dir, "bad.det"));
    expect(code).toBe(1);
    expect(stderr).toContain("error[E011]");
    expect(stderr).toContain("has 1 error; fix it first");
  });
});

describe("detc eval on a COCO results file", () => {
  it("prints pycocotools' numbers", () => {
    const fixture = JSON.parse(readFileSync(join(root, "test/fixtures/eval/basic.json"), "utf8"));
    const dir = temp();
    writeFileSync(join(dir, "gt.json"), JSON.stringify(fixture.groundTruth));
    writeFileSync(join(dir, "dt.json"), JSON.stringify(fixture.detections));
    const { code, stdout } = detc("eval", "--annotations", join(dir, "gt.json"), "--detections", join(dir, "dt.json"), "--json");
    expect(code).toBe(0);
    const stats = JSON.parse(stdout);
    for (const [name, value] of Object.entries(fixture.coco)) expect(stats[name]).toBeCloseTo(value as number, 6);
    const human = detc("eval", "--annotations", join(dir, "gt.json"), "--detections", join(dir, "dt.json"));
    expect(human.stdout).toContain("AP @[IoU=0.50:0.95 | area=all | maxDets=100]");
  });

  it("malformed input is a clear error naming the record", () => {
    const dir = temp();
    writeFileSync(join(dir, "gt.json"), JSON.stringify({ images: [{ id: 1, width: 10, height: 10 }], annotations: [], categories: [{ id: 1, name: "a" }] }));
    writeFileSync(join(dir, "dt.json"), JSON.stringify([{ image_id: 7, category_id: 1, bbox: [0, 0, 1, 1], score: 1 }]));
    const { code, stderr } = detc("eval", "--annotations", join(dir, "gt.json"), "--detections", join(dir, "dt.json"));
    expect(code).toBe(1);
    expect(stderr).toMatch(/^detc: .*detections\[0\]/);
  });

  it("a results file that is not a well-formed array is a clear error, with the line and column", () => {
    const dir = temp();
    writeFileSync(join(dir, "gt.json"), JSON.stringify({ images: [{ id: 1 }], annotations: [], categories: [{ id: 1 }] }));
    const detection = JSON.stringify({ image_id: 1, category_id: 1, bbox: [0, 0, 1, 1], score: 1 });
    const cases: [string, RegExp][] = [
      [`{"results": [${detection}]}`, /dt\.json: must be a JSON array, got an object\n$/],
      [`[${detection},\n${detection},\n{"image_id": 1,}]`, /dt\.json: malformed JSON at line 3, column 16: /],
    ];
    for (const [text, message] of cases) {
      writeFileSync(join(dir, "dt.json"), text);
      const { code, stderr } = detc("eval", "--annotations", join(dir, "gt.json"), "--detections", join(dir, "dt.json"));
      expect(code, stderr).toBe(1);
      expect(stderr).toMatch(message);
    }
  });
});

const TINY_SPEC = tinyDetectorSource({ train: "batch_size 2 epochs 1 lr 0.01 warmup_steps 2 checkpoint_every 1 frozen_batch_norm false" });

describe("detc run → predict → eval", () => {
  it("trains a tiny detector, resumes, predicts with drawings, and evaluates the checkpoint", () => {
    const dir = temp();
    const spec = join(dir, "tiny.det");
    writeFileSync(spec, TINY_SPEC);
    const out = join(dir, "run");
    const first = detc("run", spec, "--out", out, "--max-steps", "2", "--json");
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({ steps: 2, resumedFrom: 0 });
    // The whole process's peak: the engine alone is over 100 MB, a tiny model's training under 4 GB.
    expect(summary.peakMemoryBytes).toBeGreaterThan(100 * 2 ** 20);
    expect(summary.peakMemoryBytes).toBeLessThan(4 * 2 ** 30);
    const again = detc("run", spec, "--out", out, "--max-steps", "3");
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("pass --resume");
    const resumed = detc("run", spec, "--out", out, "--max-steps", "3", "--resume");
    expect(resumed.stdout).toMatch(/peak memory \d+\.\d\d GiB/);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain("done: 3 steps (resumed at 2)");

    const weights = join(out, "checkpoint.safetensors");
    const image = join(root, "test/fixtures/data/coco/images/red.png");
    const drawn = join(dir, "drawn");
    const predicted = detc("predict", spec, "--weights", weights, image, "--draw", drawn, "--min-score", "0", "--json");
    expect(predicted.code, predicted.stderr).toBe(0);
    const [result] = JSON.parse(predicted.stdout);
    expect(result.image).toBe(image);
    for (const d of result.detections) {
      expect(d.box).toHaveLength(4);
      expect(["circle", "square", "triangle", "cross"]).toContain(d.class);
    }
    expect(existsSync(join(drawn, "red.png"))).toBe(true);

    const evaluated = detc("eval", spec, "--weights", weights, "--json");
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(Object.keys(JSON.parse(evaluated.stdout))).toEqual(expect.arrayContaining(["AP", "AP50", "ARl", "VOC_AP50"]));

    const wrong = detc("eval", "examples/quickstart.det", "--weights", weights);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/does not fit this model/);
  }, 600_000);
});
