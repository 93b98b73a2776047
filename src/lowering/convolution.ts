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
import type { Operation } from "../zoo/graph.js";
import { isDepthwise } from "./layouts.js";

type Conv2dOp = Extract<Operation, { kind: "conv2d" }>;

/**
 * torch's symmetric zero padding in a form every backend differentiates: tfjs-node's conv
 * gradients accept only "valid" and "same", not explicit padding. "same" equals torch's padding
 * exactly when the stride is 1 and the padding is the kernel's half-span; otherwise pad first.
 */
function padded(op: Conv2dOp, x: tf.Tensor4D): { input: tf.Tensor4D; pad: "same" | "valid" } {
  const [ph, pw] = op.padding;
  if (ph === 0 && pw === 0) return { input: x, pad: "valid" };
  const halfSpan = (axis: 0 | 1) => ((op.kernel[axis] - 1) * op.dilation[axis]) / 2;
  if (op.stride[0] === 1 && op.stride[1] === 1 && ph === halfSpan(0) && pw === halfSpan(1)) return { input: x, pad: "same" };
  return { input: tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]), pad: "valid" };
}

/**
 * `x` is NHWC; `weight` is in our layout (`layouts.ts`): HWIO, or [kh, kw, C, m] when depthwise.
 * Returns NHWC.
 */
export function conv2d(op: Conv2dOp, x: tf.Tensor4D, weight: tf.Tensor4D, bias: tf.Tensor | undefined): tf.Tensor4D {
  const { input: source, pad } = padded(op, x);
  const stride: [number, number] = [...op.stride];
  const dilation: [number, number] = [...op.dilation];
  const dense = (input: tf.Tensor4D, filter: tf.Tensor4D) => tf.conv2d(input, filter, stride, pad, "NHWC", dilation);
  let y: tf.Tensor4D;
  if (isDepthwise(op)) y = tf.depthwiseConv2d(source, weight, stride, pad, "NHWC", dilation);
  else if (op.groups === 1) y = dense(source, weight);
  else {
    const inputs = tf.split(source, op.groups, 3) as tf.Tensor4D[];
    const filters = tf.split(weight, op.groups, 3) as tf.Tensor4D[];
    y = tf.concat(inputs.map((input, g) => dense(input, filters[g]!)), 3);
  }
  return bias ? tf.add(y, bias) : y;
}
