/** `nn.MaxPool2d`, `nn.AvgPool2d` and `nn.AdaptiveAvgPool2d` on channels-last tensors, with torch's output sizes. */
import * as tf from "@tensorflow/tfjs";
import type { Operation } from "../zoo/graph.js";
import { mean } from "./lean-backward.js";

type MaxPoolOp = Extract<Operation, { kind: "max_pool2d" }>;
type AvgPoolOp = Extract<Operation, { kind: "avg_pool2d" }>;

/** torch's output length, including ceil mode's rule that the last window starts inside the input. */
function pooledLength(size: number, kernel: number, stride: number, padding: number, ceil: boolean): number {
  const span = size + 2 * padding - kernel;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (out - 1) * stride >= size + padding) out -= 1;
  return out;
}

export function maxPool2d(op: MaxPoolOp, x: tf.Tensor4D): tf.Tensor4D {
  if (op.dilation[0] !== 1 || op.dilation[1] !== 1) throw new Error("max_pool2d: dilation is not supported by tfjs");
  const [, height, width] = x.shape;
  // Ceil mode's extra windows read past the end: pad there too. Padding is -∞ (it never wins a
  // max) and applied with tf.pad, since tfjs-node's pooling accepts only "valid" and "same".
  const trailing = (size: number, axis: 0 | 1) => {
    const out = pooledLength(size, op.kernel[axis], op.stride[axis], op.padding[axis], op.ceilMode);
    return (out - 1) * op.stride[axis] + op.kernel[axis] - size - op.padding[axis];
  };
  const pad: Array<[number, number]> = [
    [0, 0],
    [op.padding[0], Math.max(0, trailing(height, 0))],
    [op.padding[1], Math.max(0, trailing(width, 1))],
    [0, 0],
  ];
  const input = pad.some(([before, after]) => before > 0 || after > 0) ? tf.pad(x, pad, -Infinity) : x;
  return tf.maxPool(input, [...op.kernel], [...op.stride], "valid");
}

/** `nn.AvgPool2d` with `count_include_pad=True`: zero padding is part of every window's mean. */
export function avgPool2d(op: AvgPoolOp, x: tf.Tensor4D): tf.Tensor4D {
  const [ph, pw] = op.padding;
  const input = ph > 0 || pw > 0 ? tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]) : x;
  return tf.avgPool(input, [...op.kernel], [...op.stride], "valid");
}

/** torch's adaptive windows: output cell i covers [floor(i·n/out), ceil((i+1)·n/out)). */
const windows = (size: number, out: number) =>
  Array.from({ length: out }, (_, i) => [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)] as const);

export function adaptiveAvgPool2d(output: readonly [number, number], x: tf.Tensor4D): tf.Tensor4D {
  const [n, height, width, channels] = x.shape;
  const [outH, outW] = output;
  if (height % outH === 0 && width % outW === 0) {
    // Equal windows (always the case for 1×1): one reshape and one mean.
    return mean(x.reshape([n, outH, height / outH, outW, width / outW, channels]), [2, 4]);
  }
  const rows = windows(height, outH).map(([top, bottom]) =>
    tf.concat(
      windows(width, outW).map(([left, right]) =>
        tf.mean(tf.slice(x, [0, top, left, 0], [n, bottom - top, right - left, channels]), [1, 2], true),
      ),
      2,
    ),
  );
  return tf.concat(rows, 1) as tf.Tensor4D;
}
