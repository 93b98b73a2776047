/**
 * Swin's windowed attention as tfjs ops, on channels-last [N, H, W, C] maps, computed as
 * torchvision's `shifted_window_attention`, `_get_relative_position_bias` and `_patch_merging_pad`
 * compute them (padding, cyclic shift, window partition, masks, cosine attention).
 */
import * as tf from "@tensorflow/tfjs";
import type { Pair } from "../zoo/graph.js";

/** `torch.roll(x, shift, axis)`: elements leaving one end come back at the other. */
function roll(x: tf.Tensor, shift: number, axis: number): tf.Tensor {
  const size = x.shape[axis]!;
  const split = (((-shift % size) + size) % size);
  if (split === 0) return x;
  const [head, tail] = tf.split(x, [split, size - split], axis);
  return tf.concat([tail!, head!], axis);
}

/** Python's `a[start:stop]` bounds for a length `size` (negative bounds count from the end). */
function pythonSlice(start: number, stop: number | undefined, size: number): [number, number] {
  const clamp = (i: number) => Math.min(size, Math.max(0, i < 0 ? size + i : i));
  return [clamp(start), stop === undefined ? size : clamp(stop)];
}

/**
 * The shifted windows' mask [windows, h·w, h·w]: 0 between positions of the same region before the
 * shift, −100 across regions, built exactly as torchvision builds it (its slices included).
 */
function shiftMask([paddedH, paddedW]: Pair, [h, w]: Pair, [shiftH, shiftW]: Pair): tf.Tensor3D {
  const region = new Int32Array(paddedH * paddedW);
  const slices = (window: number, shift: number): [number, number | undefined][] => [
    [0, -window],
    [-window, -shift],
    [-shift, undefined],
  ];
  let count = 0;
  for (const [rowStart, rowStop] of slices(h, shiftH))
    for (const [colStart, colStop] of slices(w, shiftW)) {
      const [r0, r1] = pythonSlice(rowStart, rowStop, paddedH);
      const [c0, c1] = pythonSlice(colStart, colStop, paddedW);
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) region[r * paddedW + c] = count;
      count++;
    }
  const windowsDown = paddedH / h;
  const windowsAcross = paddedW / w;
  const pairs = h * w;
  const mask = new Float32Array(windowsDown * windowsAcross * pairs * pairs);
  for (let wy = 0; wy < windowsDown; wy++)
    for (let wx = 0; wx < windowsAcross; wx++) {
      const regionAt = (p: number) => region[(wy * h + Math.floor(p / w)) * paddedW + wx * w + (p % w)];
      const base = (wy * windowsAcross + wx) * pairs * pairs;
      for (let a = 0; a < pairs; a++) for (let b = 0; b < pairs; b++) mask[base + a * pairs + b] = regionAt(a) === regionAt(b) ? 0 : -100;
    }
  return tf.tensor3d(mask, [windowsDown * windowsAcross, pairs, pairs]);
}

export interface AttentionWeights {
  /** torch's layout, [3C, C] and [C, C]. */
  readonly qkvWeight: tf.Tensor;
  readonly projWeight: tf.Tensor;
  /** [1, heads, h·w, h·w] */
  readonly positionBias: tf.Tensor;
  readonly qkvBias: tf.Tensor;
  readonly projBias: tf.Tensor;
  /** Swin v2's per-head [heads, 1, 1] log scale: cosine attention. */
  readonly logitScale?: tf.Tensor;
}

export interface WindowOptions {
  readonly window: Pair;
  readonly shift: Pair;
  readonly heads: number;
}

/** L2-normalises the last axis as `F.normalize` (norms below 1e-12 count as 1e-12). */
const normalise = (x: tf.Tensor) => tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), -1, true)), 1e-12));

/** Attention within each window: [windows·N, h·w, C] tokens in, the same out (before `proj`). */
function windowAttention(tokens: tf.Tensor3D, weights: AttentionWeights, heads: number, mask: tf.Tensor3D | undefined): tf.Tensor {
  const [count, pairs, channels] = tokens.shape;
  const perHead = channels / heads;
  // Swin v2 gives keys no bias: torchvision zeroes the middle third of `qkv.bias` in its forward.
  const qkvBias = weights.logitScale
    ? tf.concat([weights.qkvBias.slice(0, channels), tf.zeros([channels]), weights.qkvBias.slice(2 * channels, channels)])
    : weights.qkvBias;
  const qkv = tf
    .add(tf.matMul(tokens.reshape([-1, channels]), weights.qkvWeight, false, true), qkvBias)
    .reshape([count, pairs, 3, heads, perHead])
    .transpose([2, 0, 3, 1, 4]);
  const [q, k, v] = tf.unstack(qkv) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  let attn: tf.Tensor = weights.logitScale
    ? tf.mul(tf.matMul(normalise(q), normalise(k), false, true), tf.exp(tf.minimum(weights.logitScale, Math.log(100))))
    : tf.matMul(tf.mul(q, perHead ** -0.5), k, false, true);
  attn = tf.add(attn, weights.positionBias);
  if (mask) {
    const windows = mask.shape[0];
    attn = tf.add(attn.reshape([count / windows, windows, heads, pairs, pairs]), mask.reshape([1, windows, 1, pairs, pairs])).reshape([count, heads, pairs, pairs]);
  }
  return tf.matMul(tf.softmax(attn), v).transpose([0, 2, 1, 3]).reshape([count, pairs, channels]);
}

/** torchvision's `shifted_window_attention` on [N, H, W, C] (dropout is a no-op in eval mode). */
export function shiftedWindowAttention(x: tf.Tensor4D, weights: AttentionWeights, { window, shift, heads }: WindowOptions): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const [h, w] = window;
  // Pad to whole windows; the padding takes part in attention, unmasked, as in torchvision.
  const padBottom = (h - (height % h)) % h;
  const padRight = (w - (width % w)) % w;
  let y: tf.Tensor = padBottom + padRight > 0 ? tf.pad(x, [[0, 0], [0, padBottom], [0, padRight], [0, 0]]) : x;
  const paddedH = height + padBottom;
  const paddedW = width + padRight;
  // A window as large as the map has nothing to shift.
  const shifts: Pair = [h >= paddedH ? 0 : shift[0], w >= paddedW ? 0 : shift[1]];
  const shifted = shifts[0] + shifts[1] > 0;
  if (shifted) y = roll(roll(y, -shifts[0], 1), -shifts[1], 2);

  const down = paddedH / h;
  const across = paddedW / w;
  const tokens = y.reshape([batch, down, h, across, w, channels]).transpose([0, 1, 3, 2, 4, 5]).reshape([batch * down * across, h * w, channels]);
  const mask = shifted ? shiftMask([paddedH, paddedW], window, shifts) : undefined;
  const attended = windowAttention(tokens as tf.Tensor3D, weights, heads, mask);
  const projected = tf.add(tf.matMul(attended.reshape([-1, channels]), weights.projWeight, false, true), weights.projBias);

  y = projected.reshape([batch, down, across, h, w, channels]).transpose([0, 1, 3, 2, 4, 5]).reshape([batch, paddedH, paddedW, channels]);
  if (shifted) y = roll(roll(y, shifts[0], 1), shifts[1], 2);
  return (padBottom + padRight > 0 ? tf.slice(y, [0, 0, 0, 0], [batch, height, width, channels]) : y) as tf.Tensor4D;
}

/** `_get_relative_position_bias`: the table's rows by `index`, as [1, heads, h·w, h·w]. */
export function relativePositionBias(table: tf.Tensor, index: tf.Tensor, window: Pair, heads: number): tf.Tensor4D {
  const pairs = window[0] * window[1];
  return tf.gather(table, index).reshape([pairs, pairs, heads]).transpose([2, 0, 1]).expandDims(0) as tf.Tensor4D;
}

/**
 * `_patch_merging_pad` on [N, H, W, C]: pad to even H and W, then each 2×2 block's positions
 * (0,0), (1,0), (0,1), (1,1) concatenated along channels, [N, ⌈H/2⌉, ⌈W/2⌉, 4C].
 */
export function patchMergingPad(x: tf.Tensor4D): tf.Tensor4D {
  const [batch, height, width, channels] = x.shape;
  const padded = height % 2 + (width % 2) > 0 ? tf.pad(x, [[0, 0], [0, height % 2], [0, width % 2], [0, 0]]) : x;
  const down = Math.ceil(height / 2);
  const across = Math.ceil(width / 2);
  // [N, H/2, row in block, W/2, column in block, C] → column-major over the block's positions.
  return padded
    .reshape([batch, down, 2, across, 2, channels])
    .transpose([0, 1, 3, 4, 2, 5])
    .reshape([batch, down, across, 4 * channels]) as tf.Tensor4D;
}
