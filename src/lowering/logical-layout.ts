/**
 * Values flowing through a lowered backbone keep torchvision's *logical* axes (NCHW for feature
 * maps) while their tensors are laid out however is cheapest, usually channels-last. Tracking which
 * logical axis each physical axis holds turns torchvision's permutes (ConvNeXt's NCHW ↔ NHWC) into
 * bookkeeping: data only moves when an operation needs a layout the value is not in.
 */
import * as tf from "@tensorflow/tfjs";

export interface LaidOut {
  readonly tensor: tf.Tensor;
  /** `axes[i]` is the logical (torchvision) axis that physical axis `i` holds. */
  readonly axes: readonly number[];
}

/** An NCHW feature map held as NHWC, the layout of every conv, pool and norm here. */
export const CHANNELS_LAST: readonly number[] = [0, 2, 3, 1];

export const identityAxes = (rank: number) => Array.from({ length: rank }, (_, i) => i);

const sameAxes = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The value's tensor with physical axes holding logical axes `axes`, moving data only if needed. */
export function tensorIn(value: LaidOut, axes: readonly number[]): tf.Tensor {
  if (sameAxes(value.axes, axes)) return value.tensor;
  const permutation = axes.map((logical) => value.axes.indexOf(logical));
  const shape = value.tensor.shape;
  // Moving only unit axes (a [1, C, 1, 1] parameter going channels-last) keeps the element order.
  const moved = permutation.filter((physical) => shape[physical] !== 1);
  if (moved.every((physical, i) => i === 0 || moved[i - 1]! < physical))
    return value.tensor.reshape(permutation.map((physical) => shape[physical]!));
  return tf.transpose(value.tensor, permutation);
}

/** `x.permute(dims)`: new logical axis j is old logical axis dims[j]; no data moves. */
export function permuted(value: LaidOut, dims: readonly number[]): LaidOut {
  return { tensor: value.tensor, axes: value.axes.map((old) => dims.indexOf(old)) };
}

/** The physical axis holding logical axis `logical` (negative counts from the end, as in torch). */
export function physicalAxis(value: LaidOut, logical: number): number {
  return value.axes.indexOf(logical < 0 ? value.axes.length + logical : logical);
}

/**
 * Both operands of a broadcasting binary op in one physical layout. A lower-rank operand gets
 * leading unit axes first, as torch broadcasting does, so `layer_scale` [C, 1, 1] meets an NCHW map
 * held as NHWC as a [1, 1, 1, C] tensor.
 */
export function broadcastTogether(a: LaidOut, b: LaidOut): { a: tf.Tensor; b: tf.Tensor; axes: readonly number[] } {
  const wider = a.axes.length >= b.axes.length ? a : b;
  const align = (v: LaidOut) => {
    const missing = wider.axes.length - v.axes.length;
    if (missing === 0) return tensorIn(v, wider.axes);
    const logical = tensorIn(v, identityAxes(v.axes.length));
    const padded: LaidOut = { tensor: logical.reshape([...Array(missing).fill(1), ...logical.shape]), axes: identityAxes(wider.axes.length) };
    return tensorIn(padded, wider.axes);
  };
  return { a: align(a), b: align(b), axes: wider.axes };
}
