/** Shared by the lowering tests: backend set-up and comparison with torchvision's summaries. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { expect } from "vitest";
import { registerOps } from "../../src/engine/ops/index.js";

export async function useBackend(name: "wasm" | "cpu"): Promise<void> {
  if (name === "wasm")
    setWasmPaths(fileURLToPath(new URL("../../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url)));
  registerOps();
  await tf.setBackend(name);
  await tf.ready();
}

/** What make_lowering_goldens.py records of a tensor (indices in torchvision's layout). */
export interface TensorSummary {
  shape: number[];
  sum: number;
  absSum: number;
  sumSquares: number;
  samples: [number[], number][];
}

export interface Goldens {
  input: number[];
  gradientInput: number[];
  forward: Record<string, Record<string, TensorSummary>>;
  frozenBatchNorm: { network: string; outputs: Record<string, TensorSummary> };
  training: {
    network: string;
    outputs: Record<string, TensorSummary>;
    runningStatistics: Record<string, TensorSummary>;
  };
  /** `input`, when given, replaces `gradientInput` (Swin needs a map larger than its window to shift). */
  gradients: Record<string, { taps: string[]; input?: number[]; loss: number; gradients: Record<string, TensorSummary> }>;
}

export const goldens = (): Goldens =>
  JSON.parse(readFileSync(new URL("../fixtures/lowering/backbones.json", import.meta.url), "utf8")) as Goldens;

/** A feature map we return (NHWC) in torchvision's NCHW, for comparison. */
export const toNchw = (t: tf.Tensor) => tf.transpose(t, [0, 3, 1, 2]);

/**
 * `tensor` (in torchvision's layout) agrees with the summary: sums of squares and of |x| to
 * `tolerance` relative, the sum and every sample to `tolerance` relative to the tensor's scale
 * (|x| summed, or its root mean square), since single values and signed sums may be near zero.
 */
export function expectMatchesSummary(tensor: tf.Tensor, golden: TensorSummary, tolerance: number): void {
  expect(tensor.shape).toEqual(golden.shape);
  const values = tensor.dataSync();
  let sum = 0;
  let absSum = 0;
  let sumSquares = 0;
  for (const v of values) {
    sum += v;
    absSum += Math.abs(v);
    sumSquares += v * v;
  }
  const rms = Math.sqrt(golden.sumSquares / values.length);
  const strides = golden.shape.map((_, i) => golden.shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const errors: Record<string, number> = {
    sumSquares: Math.abs(sumSquares - golden.sumSquares) / golden.sumSquares,
    absSum: Math.abs(absSum - golden.absSum) / golden.absSum,
    sum: Math.abs(sum - golden.sum) / golden.absSum,
  };
  golden.samples.forEach(([index, expected]) => {
    const actual = values[index.reduce((at, i, axis) => at + i * strides[axis]!, 0)]!;
    errors[`[${index}]`] = Math.abs(actual - expected) / rms;
  });
  const worst = Object.entries(errors).reduce((a, b) => (b[1] > a[1] ? b : a));
  expect(worst[1], `worst relative error at ${worst[0]}`).toBeLessThanOrEqual(tolerance);
}
