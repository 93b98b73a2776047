/**
 * Ops that keep less for the backward pass than tfjs's own, with the same values and gradients.
 *
 * tfjs's gradient tape keeps whatever each kernel's gradient declares it needs, and some declare
 * more than they use: `Add` and `PadV2` keep their inputs for their shapes only, and an activation
 * written as a composite (hard-swish: add, relu6, divide, multiply) keeps every intermediate. Each
 * op here is one `tf.customGrad` node that keeps only what its gradient reads (nothing, or the
 * input), as PyTorch's fused kernels do; the forward pass computes exactly what the composite
 * computes. Standard tfjs ops only, so any backend. (ReLU and ReLU6 keep their output instead of
 * their input through their registered gradients, `engine/ops/activations.ts`.)
 */
import * as tf from "@tensorflow/tfjs";
import { sigmoidGradient } from "../engine/ops/activations.js";

type Save = (tensors: tf.Tensor[]) => void;

/**
 * `tf.customGrad` whose gradient runs in a `tidy` of its own, so that its temporaries go as soon as
 * the node's gradient is computed (tfjs runs a custom gradient outside any scope of the node).
 */
export function leanOp<I extends tf.Tensor[]>(
  forward: (inputs: I, save: Save) => tf.Tensor,
  backward: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[],
): (...inputs: I) => tf.Tensor {
  const op = tf.customGrad(((...args: unknown[]) => {
    const save = args.pop() as Save;
    const value = forward(args as I, save);
    return { value, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.tidy(() => backward(dy, saved)) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return (...inputs: I) => op(...inputs);
}

/** `relu6(x + 3)` as torch's Hardsigmoid computes it, and where its slope is not zero. */
function shiftedRelu6(x: tf.Tensor): { value: tf.Tensor; slope: tf.Tensor } {
  const shifted = tf.add(x, 3);
  // The Relu6 gradient `engine/ops/activations.ts` registers: 0 < input < 6.
  return { value: tf.relu6(shifted), slope: tf.cast(tf.logicalAnd(tf.greater(shifted, 0), tf.less(shifted, 6)), "float32") };
}

/** `relu6(x + 3) / 6`, keeping only `x`. */
export const hardSigmoid = leanOp<[tf.Tensor]>(
  ([x], save) => {
    save([x]);
    return tf.div(shiftedRelu6(x).value, 6);
  },
  (dy, [x]) => [tf.mul(tf.div(dy, 6), shiftedRelu6(x!).slope)],
);

/** `x · relu6(x + 3) / 6`, torch's Hardswish, keeping only `x`. */
export const hardSwish = leanOp<[tf.Tensor]>(
  ([x], save) => {
    save([x]);
    return tf.mul(x, tf.div(shiftedRelu6(x).value, 6));
  },
  (dy, [x]) => {
    const { value, slope } = shiftedRelu6(x!);
    return [tf.add(tf.mul(dy, tf.div(value, 6)), tf.mul(tf.div(tf.mul(dy, x!), 6), slope))];
  },
);

/** `x · sigmoid(x)`, keeping only `x`. */
export const silu = leanOp<[tf.Tensor]>(
  ([x], save) => {
    save([x]);
    return tf.mul(x, tf.sigmoid(x));
  },
  // dy · (s + x · s(1 − s)): five passes over the tensor with TensorFlow's SigmoidGrad, seven without.
  (dy, [x]) => {
    const s = tf.sigmoid(x!);
    return [tf.add(tf.mul(dy, s), tf.mul(x!, sigmoidGradient(s, dy)))];
  },
);

/** torch's exact GELU, `x/2 · (1 + erf(x/√2))`, keeping only `x`. */
export const gelu = leanOp<[tf.Tensor]>(
  ([x], save) => {
    save([x]);
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
  },
  (dy, [x]) => {
    const cdf = tf.mul(tf.add(tf.erf(tf.mul(x!, Math.SQRT1_2)), 1), 0.5);
    const density = tf.mul(tf.exp(tf.mul(tf.square(x!), -0.5)), 1 / Math.sqrt(2 * Math.PI));
    return [tf.mul(dy, tf.add(cdf, tf.mul(x!, density)))];
  },
);

/**
 * `a + b` keeping nothing (tfjs's `Add` keeps both, for their shapes) when both have one shape, or
 * when `b` is a bias: a vector along `a`'s last axis. Any other broadcast is tfjs's own.
 */
export function add(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (a.dtype !== b.dtype) return tf.add(a, b);
  if (tf.util.arraysEqual(a.shape, b.shape)) return addSameShape(a, b);
  if (b.rank === 1 && a.rank > 1 && a.shape[a.rank - 1] === b.shape[0]) return addBias(a, b);
  return tf.add(a, b);
}

const addSameShape = leanOp<[tf.Tensor, tf.Tensor]>(
  ([a, b]) => tf.add(a, b),
  (dy) => [dy.clone(), dy.clone()],
);

const addBias = leanOp<[tf.Tensor, tf.Tensor]>(
  ([x, bias]) => tf.add(x, bias),
  (dy) => [dy.clone(), tf.sum(dy, [...Array(dy.rank - 1).keys()])],
);

/** `tf.concat`, keeping nothing (tfjs's `Concat` keeps every input, for their shapes). */
export function concat<T extends tf.Tensor>(tensors: readonly T[], axis = 0): T {
  const sizes = tensors.map((tensor) => tensor.shape[axis]!);
  return leanOp<tf.Tensor[]>(
    (inputs) => tf.concat(inputs, axis),
    (dy) => tf.split(dy, sizes, axis),
  )(...tensors) as T;
}

/** `tf.gather` of rows (axis 0) by 1-D int32 `indices`, keeping only them (tfjs's `GatherV2` keeps `x` too, for its shape). */
export function gatherRows<T extends tf.Tensor>(x: T, indices: tf.Tensor1D): T {
  const rows = x.shape[0]!;
  return leanOp<[tf.Tensor, tf.Tensor1D]>(
    ([values, at], save) => {
      save([at]);
      return tf.gather(values, at);
    },
    (dy, [at]) => [tf.unsortedSegmentSum(dy, at as tf.Tensor1D, rows), tf.zerosLike(at!)],
  )(x, indices) as T;
}

/**
 * `tf.mean` over `axes`, keeping nothing. Its gradient spreads `dy / count` over each window with
 * one tile; tfjs's writes a tensor of ones, multiplies and divides (three passes over the input's
 * size, in every squeeze-excitation block) and keeps the input, for its shape.
 */
export function mean<T extends tf.Tensor>(x: tf.Tensor, axes: readonly number[]): T {
  const kept = x.shape.map((extent, axis) => (axes.includes(axis) ? 1 : extent));
  const count = axes.reduce((product, axis) => product * x.shape[axis]!, 1);
  const reps = x.shape.map((extent, axis) => (axes.includes(axis) ? extent : 1));
  return leanOp<[tf.Tensor]>(
    ([input]) => tf.mean(input, [...axes]),
    (dy) => [tf.tile(tf.div(dy.reshape(kept), count), reps)],
  )(x) as T;
}

/** `tf.pad` with zeros, keeping nothing (tfjs's `PadV2` keeps its input, for its shape). */
export function pad<T extends tf.Tensor>(x: T, paddings: [number, number][]): T {
  const begin = paddings.map(([before]) => before);
  const size = [...x.shape];
  return leanOp<[tf.Tensor]>(
    ([input]) => tf.pad(input, paddings),
    (dy) => [tf.slice(dy, begin, size)],
  )(x) as T;
}
