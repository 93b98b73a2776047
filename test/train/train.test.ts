/** Training as users rely on it: the schedule, PyTorch's SGD, checkpoints that survive, resume. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { readCheckpoint } from "../../src/train/checkpoint.js";
import { CheckpointError } from "../../src/train/restore-variables.js";
import { SGD } from "../../src/train/optimizer.js";
import { encodeSafetensors } from "../../src/weights/safetensors.js";
import { learningRate } from "../../src/train/schedule.js";
import { openRunFolder, type RunFolderMode } from "../../src/train/run-folder.js";
import { train, TrainingError, type TrainOptions } from "../../src/train/trainer.js";
import { selectBackend } from "../../src/engine/backend.js";
import { tinyDetectorSource } from "../support/tiny-detector.js";

const TINY = tinyDetectorSource({
  backbone: "trainable 2",
  train: "batch_size 2 epochs 2 lr 0.01 warmup_steps 2 checkpoint_every 2 frozen_batch_norm false",
});

const tinySpec = (source = TINY) => {
  const result = checkSource(source);
  expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return result.detectors[0]!.spec;
};
const tinyData = () => ({
  train: syntheticDataset("train", { imageSize: 64, trainCount: 6 }),
  val: syntheticDataset("val", { imageSize: 64, valCount: 2 }),
});
const outDir = () => mkdtempSync(join(tmpdir(), "detc-run-"));
/** Trains in `dir` as `detc run` does: the folder opened (locked) around the run. */
async function trainIn(dir: string, mode: RunFolderMode, spec: ReturnType<typeof tinySpec>, options: Omit<TrainOptions, "folder"> = {}, data = tinyData()) {
  const folder = openRunFolder(dir, mode);
  try {
    return await train(spec, data, { folder, ...options });
  } finally {
    folder.release();
  }
}
const stepLines = (dir: string) =>
  readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "step");

describe("learning-rate schedule", () => {
  const schedule = { lr: 0.02, warmupSteps: 100, warmupFactor: 0.001, lrSteps: [8, 11], lrGamma: 0.1, stepsPerEpoch: 50 };
  it("warms up linearly from lr × warmup_factor, as torch's LinearLR", () => {
    expect(learningRate(schedule, 0)).toBeCloseTo(0.02 * 0.001, 12);
    expect(learningRate(schedule, 50)).toBeCloseTo(0.02 * (0.001 * 0.5 + 0.5), 12);
    expect(learningRate(schedule, 100)).toBe(0.02);
  });
  it("decays by lr_gamma after each lr_steps epoch, as torch's MultiStepLR", () => {
    expect(learningRate(schedule, 8 * 50 - 1)).toBe(0.02);
    expect(learningRate(schedule, 8 * 50)).toBeCloseTo(0.002, 12);
    expect(learningRate(schedule, 11 * 50)).toBeCloseTo(0.0002, 12);
  });
});

describe("training", () => {
  // The engine `detc run` takes: native TensorFlow where installed, else WASM with our kernels.
  beforeAll(() => selectBackend("auto"));

  it("SGD follows torch.optim.SGD (momentum buffer starts at the gradient, decay added to it)", () => {
    const w = tf.variable(tf.tensor1d([1, -2]), true, "sgd-test");
    const sgd = new SGD(0.9, 0.1);
    const variables = new Map([["sgd-test", w]]);
    sgd.step(variables, { "sgd-test": tf.tensor1d([0.5, 0.5]) }, 0.1);
    // d = g + 0.1·w = [0.6, 0.3]; buf = d; w -= 0.1·buf
    expect(Array.from(w.dataSync())).toEqual([expect.closeTo(0.94, 6), expect.closeTo(-2.03, 6)]);
    sgd.step(variables, { "sgd-test": tf.tensor1d([0.5, 0.5]) }, 0.1);
    // d = [0.594, 0.297]; buf = 0.9·[0.6, 0.3] + d = [1.134, 0.567]
    expect(Array.from(w.dataSync())).toEqual([expect.closeTo(0.8266, 6), expect.closeTo(-2.0867, 6)]);
    sgd.dispose();
    w.dispose();
  });

  it("trains, checkpoints atomically, evaluates, and resumes exactly where it stopped", async () => {
    const spec = tinySpec();
    const dir = outDir();
    const first = await trainIn(dir, "fresh", spec, { maxSteps: 2 });
    expect(first).toMatchObject({ steps: 2, resumedFrom: 0, stopped: false });
    expect(first.evaluation?.AP50).toBeGreaterThanOrEqual(0);
    const saved = readCheckpoint(join(dir, "checkpoint.safetensors"));
    expect(saved.state).toMatchObject({ step: 2, detector: "tiny" });
    expect(saved.momentum.size).toBeGreaterThan(0);
    expect(saved.variables.has("rpn.head.cls_logits.weight")).toBe(true);

    await expect(trainIn(dir, "fresh", spec)).rejects.toThrow(/pass --resume/);

    const resumed = await trainIn(dir, "resume", spec, { maxSteps: 4 });
    expect(resumed).toMatchObject({ steps: 4, resumedFrom: 2 });
    expect(stepLines(dir).map((r) => r.step)).toEqual([1, 2, 3, 4]);
    expect(tf.memory().numTensors).toBeLessThan(50);
  });

  it("refuses a checkpoint written for another model", async () => {
    const dir = outDir();
    await trainIn(dir, "fresh", tinySpec(), { maxSteps: 1 });
    const other = tinySpec(TINY.replace("representation_size 32", "representation_size 48"));
    await expect(trainIn(dir, "resume", other, { maxSteps: 2 })).rejects.toThrow(CheckpointError);
  });

  it("refuses a checkpoint in an earlier tensor layout, saying what to do", () => {
    const path = join(outDir(), "old.safetensors");
    const weight = { dtype: "F32" as const, shape: [2], data: new Float32Array([1, 2]) };
    writeFileSync(path, encodeSafetensors(new Map([["w", weight]]), { format: "detc-checkpoint", state: "{}" }));
    expect(() => readCheckpoint(path)).toThrow(/earlier detc.*layout 1, this version reads 2.*--init/);
  });

  it("a corrupt checkpoint is a clear error, not a crash", () => {
    const dir = outDir();
    const path = join(dir, "checkpoint.safetensors");
    writeFileSync(path, Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    expect(() => readCheckpoint(path)).toThrow(/header length .* exceeds the file/);
    expect(() => readCheckpoint(join(dir, "missing.safetensors"))).toThrow(/no such file/);
  });

  it("a resumed run continues exactly: the same losses and weights as a run never interrupted", async () => {
    const spec = tinySpec();
    const whole = outDir();
    await trainIn(whole, "fresh", spec, { maxSteps: 5 });
    const split = outDir();
    await trainIn(split, "fresh", spec, { maxSteps: 2 });
    await trainIn(split, "resume", spec, { maxSteps: 5 });
    expect(stepLines(split).map((r) => r.step)).toEqual([1, 2, 3, 4, 5]);
    // Equal up to the engine's own run-to-run rounding (its threaded sums are not bitwise
    // reproducible: up to 8.5e-6 seen on a loss of 1.65 and 1.4e-5 on a weight after 5 steps,
    // hence 4 decimals and 1e-4); a resume that drew other samples or batches would differ
    // in the first digits.
    const [resumed, uninterrupted] = [stepLines(split), stepLines(whole)];
    expect(resumed.map((r) => r.lr)).toEqual(uninterrupted.map((r) => r.lr));
    resumed.forEach((r, i) => {
      for (const [part, value] of Object.entries(r.losses)) expect(value, `step ${r.step} ${part}`).toBeCloseTo(uninterrupted[i]!.losses[part], 4);
    });
    const [a, b] = [whole, split].map((dir) => readCheckpoint(join(dir, "checkpoint.safetensors")));
    expect(b!.state).toEqual(a!.state);
    const largestDifference = (x: ArrayLike<number | bigint>, y: ArrayLike<number | bigint>) => {
      let largest = 0;
      for (let i = 0; i < x.length; i++) largest = Math.max(largest, Math.abs(Number(x[i]) - Number(y[i])));
      return largest;
    };
    for (const [name, tensor] of a!.variables) expect(largestDifference(b!.variables.get(name)!.data, tensor.data), name).toBeLessThan(1e-4);
    for (const [name, tensor] of a!.momentum) expect(largestDifference(b!.momentum.get(name)!.data, tensor.data), name).toBeLessThan(1e-4);
  }, 300_000);

  it("stopped during an evaluation, the run keeps its checkpoint and evaluates again on resume", async () => {
    const spec = tinySpec();
    const dir = outDir();
    const stop = new AbortController();
    const data = { ...tinyData(), val: syntheticDataset("val", { imageSize: 64, valCount: 4 }) };
    const stopped = await trainIn(dir, "fresh", spec, { maxSteps: 4, signal: stop.signal, onEvaluation: () => stop.abort() }, data);
    // Step 3 ends the first epoch (6 images, batch 2): its evaluation was cut short after one of two batches.
    expect(stopped).toMatchObject({ steps: 3, stopped: true, checkpointStep: 3 });
    const evaluations = () => readFileSync(join(dir, "metrics.jsonl"), "utf8").split("\n").filter((l) => l.includes('"type":"eval"'));
    expect(evaluations()).toEqual([]);
    const resumed = await trainIn(dir, "resume", spec, { maxSteps: 4 }, data);
    expect(resumed).toMatchObject({ steps: 4, resumedFrom: 3, stopped: false });
    expect(evaluations().map((l) => JSON.parse(l).step)).toEqual([3, 4]);
    expect(stepLines(dir).map((r) => r.step)).toEqual([1, 2, 3, 4]);
  }, 300_000);

  it("a diverging loss stops the run before its update; the last checkpoint is one whose next loss is finite", async () => {
    const dir = outDir();
    // Warm-up raises the rate step by step, so a few steps succeed before the loss explodes.
    const spec = tinySpec(TINY.replace("lr 0.01 warmup_steps 2 checkpoint_every 2", "lr 100000 warmup_steps 6 warmup_factor 0.00000001 checkpoint_every 1"));
    const run = trainIn(dir, "fresh", spec, { maxSteps: 12 });
    await expect(run).rejects.toThrow(TrainingError);
    await expect(run).rejects.toThrow(/the (loss became (NaN|Infinity|-Infinity)|weights became NaN or infinite) at step \d+ .*stopped before applying it, and the last checkpoint, .* holds step \d+; a lower `train lr`/);
    const { state } = readCheckpoint(join(dir, "checkpoint.safetensors"));
    expect(state.step).toBeGreaterThan(0);
    const resumed = await trainIn(dir, "resume", spec, { maxSteps: state.step + 1 });
    expect(resumed.steps).toBe(state.step + 1);
    expect(Number.isFinite(stepLines(dir).at(-1).loss)).toBe(true);
  }, 300_000);
});
