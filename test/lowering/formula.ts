/**
 * Deterministic "weights" without shipping weights: every element of a state-dict entry is a
 * formula of its key and index, computed identically by test/fixtures/lowering/make_lowering_goldens.py.
 */
import * as tf from "@tensorflow/tfjs";
import type { LoweredBackbone } from "../../src/lowering/backbone.js";

function fnv1a(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  return hash;
}

/** lowbias32, a 32-bit integer hash. */
function mix(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** u in [0, 1) for element `i` of the entry `key`, mapped by `value`. */
function fill(key: string, count: number, value: (u: number) => number): Float32Array {
  const hash = fnv1a(key);
  const values = new Float32Array(count);
  for (let i = 0; i < count; i++) values[i] = value(mix((hash + Math.imul(i, 0x9e3779b9)) >>> 0) / 2 ** 32);
  return values;
}

/** An entry's values in torchvision's layout (row-major over `shape`). */
export function formula(key: string, shape: readonly number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  const fanIn = shape.slice(1).reduce((a, b) => a * b, 1);
  const signed = (u: number) => 2 * u - 1;
  if (key.endsWith("num_batches_tracked")) return new Float32Array(count);
  if (key.endsWith("running_var")) return fill(key, count, (u) => 0.5 + u);
  if (key.endsWith("running_mean") || key.endsWith("bias")) return fill(key, count, (u) => 0.1 * signed(u));
  if (key.endsWith("weight") && shape.length >= 2) {
    const bound = Math.sqrt(6 / fanIn);
    return fill(key, count, (u) => signed(u) * bound);
  }
  // Norm weights and ConvNeXt's layer_scale: around 1, so every branch matters.
  return fill(key, count, (u) => 0.5 + u);
}

/** The formula image, given torchvision's NCHW shape, as an NHWC tensor. */
export function formulaImages([n, c, h, w]: readonly number[]): tf.Tensor4D {
  const values = fill("input", n! * c! * h! * w!, (u) => 2 * u - 1);
  return tf.tidy(() => tf.tensor4d(values, [n!, c!, h!, w!]).transpose([0, 2, 3, 1]));
}

/**
 * Sets every variable of `backbone` to its formula value (converted from torchvision's layout),
 * but buffers that are functions of the architecture (Swin's position index), which keep theirs.
 */
export function loadFormulaWeights(backbone: LoweredBackbone): void {
  for (const entry of backbone.entries) {
    if (entry.role === "buffer") continue;
    const variable = backbone.variables.get(entry.key)!;
    tf.tidy(() => {
      const values = formula(entry.key, entry.shape);
      if (variable.dtype === "int32") variable.assign(tf.tensor(values, variable.shape, "int32"));
      else variable.assign(tf.tensor(backbone.fromTorchLayout(entry.key, values, entry.shape), variable.shape, "float32"));
    });
  }
}
