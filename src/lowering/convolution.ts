/**
 * `nn.Conv2d` on channels-last tensors: dense, depthwise (groups = in channels) and grouped
 * (ResNeXt, RegNet). tfjs has no grouped conv, so a grouped conv runs one dense conv per group on
 * its slice of the channels and concatenates. Measured on wasm against a depthwise conv with
 * channel multiplier followed by a sum over each group's inputs (same FLOPs, one kernel) and against
 * a block-diagonal dense filter (one kernel, `groups`× the FLOPs): per-group convs were as fast or
 * faster at every ResNeXt/RegNet shape (4 to 32 channels per group), and keep the filter in
 * TensorFlow's own grouped-conv layout.
 */
import * as tf from "@tensorflow/tfjs";
import type { Operation, Pair } from "../zoo/graph.js";
import { isDepthwise } from "./layouts.js";

type Conv2dOp = Extract<Operation, { kind: "conv2d" }>;

/** torch's symmetric zero padding, spelled explicitly so each spatial axis gets its own. */
const explicitPadding = (padding: Pair): tf.backend_util.ExplicitPadding => [
  [0, 0],
  [padding[0], padding[0]],
  [padding[1], padding[1]],
  [0, 0],
];

/**
 * `x` is NHWC; `weight` is in our layout (`layouts.ts`): HWIO, or [kh, kw, C, m] when depthwise.
 * Returns NHWC.
 */
export function conv2d(op: Conv2dOp, x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor | undefined): tf.Tensor4D {
  const pad = explicitPadding(op.padding);
  const stride: [number, number] = [...op.stride];
  const dilation: [number, number] = [...op.dilation];
  const dense = (input: tf.Tensor4D, filter: tf.Tensor4D) => tf.conv2d(input, filter, stride, pad, "NHWC", dilation);
  let y: tf.Tensor4D;
  if (isDepthwise(op)) y = tf.depthwiseConv2d(x, weight, stride, pad, "NHWC", dilation);
  else if (op.groups === 1) y = dense(x, weight);
  else {
    const inputs = tf.split(x, op.groups, 3) as tf.Tensor4D[];
    const filters = tf.split(weight, op.groups, 3) as tf.Tensor4D[];
    y = tf.concat(inputs.map((input, g) => dense(input, filters[g]!)), 3);
  }
  return bias ? tf.add(y, bias) : y;
}
