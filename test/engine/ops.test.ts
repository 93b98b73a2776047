/**
 * Our ops and gradients (`engine/ops`): torch's activation derivatives and batch norm over batch
 * statistics, equal on every backend, fused where TensorFlow has the op.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { batchNormTraining } from "../../src/engine/ops/batch-norm.js";
import { hasKernel } from "../../src/engine/ops/native.js";
import { relativeError } from "../weights/support.js";
import { BACKENDS, useBackend } from "../detection/support.js";

const inputs = [-3, -1e-3, 0, 1e-3, 2.5, 6, 7.25];
const upstream = [0.5, -2, 3, 1.5, -0.25, 4, 2];

/** The derivatives torch's autograd gives at `inputs` (relu′(0) = 0, relu6′ = 0 at 0 and 6). */
const expected: Record<string, { op: (x: tf.Tensor) => tf.Tensor; derivative: (x: number) => number; fused: string }> = {
  relu: { op: tf.relu, derivative: (x) => (x > 0 ? 1 : 0), fused: "ReluGrad" },
  relu6: { op: tf.relu6, derivative: (x) => (x > 0 && x < 6 ? 1 : 0), fused: "Relu6Grad" },
  sigmoid: { op: tf.sigmoid, derivative: (x) => Math.exp(-x) / (1 + Math.exp(-x)) ** 2, fused: "SigmoidGrad" },
};

describe.each(BACKENDS)("activation gradients on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(Object.keys(expected))("%s", (name) => {
    const { op, derivative, fused } = expected[name]!;
    expect(hasKernel(fused)).toBe(backend === "tensorflow");
    const gradient = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(op(x), upstream)))(tf.tensor1d(inputs));
    const values = gradient.dataSync();
    inputs.forEach((x, i) => expect(values[i]).toBeCloseTo(upstream[i]! * derivative(x), 6));
  });
});

/** tf.moments' composite: the definition the fused op must equal. */
function compositeBatchNorm(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, epsilon: number) {
  const axes = x.shape.slice(0, -1).map((_, i) => i);
  const { mean, variance } = tf.moments(x, axes);
  const count = x.size / x.shape[x.rank - 1]!;
  const y = tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon))), weight), bias);
  return { y, mean, variance: tf.mul(variance, count / (count - 1)) };
}

describe.each(BACKENDS)("batch norm over batch statistics on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([
    ["NHWC", [2, 3, 5, 4]],
    ["rows × channels", [6, 3]],
  ])("equals the composite, forward and gradients (%s)", (_, shape) => {
    const x = tf.tidy(() => tf.add(tf.mul(tf.randomNormal(shape as number[], 0, 1, "float32", 7), 3), 1.5));
    const channels = shape.at(-1)!;
    const weight = tf.linspace(0.5, 1.5, channels);
    const bias = tf.linspace(-0.2, 0.3, channels);
    const upstream = tf.randomNormal(shape as number[], 0, 1, "float32", 8);
    const loss = (norm: typeof compositeBatchNorm) => (a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(norm(a, w, b, 1e-5).y, upstream));
    const fused = batchNormTraining(x, weight, bias, 1e-5);
    const reference = compositeBatchNorm(x, weight, bias, 1e-5);
    for (const key of ["y", "mean", "variance"] as const) {
      expect(fused[key].shape, key).toEqual(reference[key].shape);
      expect(relativeError(fused[key].dataSync(), reference[key].dataSync()), key).toBeLessThan(1e-5);
    }
    const fusedGrads = tf.grads(loss(batchNormTraining))([x, weight, bias]);
    const referenceGrads = tf.grads(loss(compositeBatchNorm))([x, weight, bias]);
    fusedGrads.forEach((gradient, i) => expect(relativeError(gradient.dataSync(), referenceGrads[i]!.dataSync()), ["x", "weight", "bias"][i]).toBeLessThan(1e-4));
  });
});
