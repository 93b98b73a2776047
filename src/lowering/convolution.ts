/**
 * `nn.Conv2d` on channels-last tensors: dense, depthwise (groups = in channels) and grouped
 * (ResNeXt, RegNet), which tfjs lacks. A grouped conv runs one of two ways, whichever measured
 * faster on wasm (forward, 512×512 input, every grouped conv of the zoo):
 * - few groups: one dense conv per group on its slice of channels, then concatenate. Each call
 *   costs a kernel launch, so this wins up to ~16 groups (RegNetX-400MF's 2–10 groups: 2–3×).
 * - many groups: a depthwise conv with channel multiplier `out/groups` (every input channel
 *   against each output filter of its group), then a sum over each group's inputs. Same FLOPs in
 *   one kernel; wins from ~25 groups (ResNeXt's 32: 1.3–4×; RegNetY's 26–55: 4–8×).
 * Either way the weight stays in TensorFlow's grouped-conv layout (`layouts.ts`).
 */
import * as tf from "@tensorflow/tfjs";
import type { Operation } from "../zoo/graph.js";
import { isDepthwise } from "./layouts.js";

type Conv2dOp = Extract<Operation, { kind: "conv2d" }>;

/** Up to this many groups, per-group dense convs beat the depthwise formulation. */
const MAX_GROUPS_CONV_PER_GROUP = 16;

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

/** A per-output-channel `y · scale + shift` applied after the conv: a batch norm folded into it. */
export interface ChannelAffine {
  readonly scale: tf.Tensor1D;
  readonly shift: tf.Tensor1D;
}

export interface ConvOptions {
  /** A batch norm by running statistics folded in: weights scaled, its shift added to the bias. */
  readonly affine?: ChannelAffine;
  /**
   * Computes conv and bias in one kernel. Only without gradients: tfjs's fused gradient computes
   * every input's (the images' too) and the bias's even when nothing needs them.
   */
  readonly fuseBias: boolean;
}

/**
 * `x` is NHWC; `weight` is in our layout (`layouts.ts`): HWIO with I = in/groups, or
 * [kh, kw, C, m] when depthwise. Returns NHWC.
 */
export function conv2d(op: Conv2dOp, x: tf.Tensor4D, weight: tf.Tensor4D, convBias: tf.Tensor | undefined, options: ConvOptions): tf.Tensor4D {
  const { input: source, pad } = padded(op, x);
  const stride: [number, number] = [...op.stride];
  const dilation: [number, number] = [...op.dilation];
  const { affine } = options;
  // The output channel is the filter's last axis in every layout but depthwise's [kh, kw, C, m].
  const filterScale = affine && (isDepthwise(op) ? affine.scale.reshape([op.inChannels, op.outChannels / op.inChannels]) : affine.scale);
  const filter = filterScale ? (tf.mul(weight, filterScale) as tf.Tensor4D) : weight;
  const bias = affine ? (convBias ? tf.add(tf.mul(convBias, affine.scale), affine.shift) : affine.shift) : convBias;
  const fused = options.fuseBias && bias !== undefined && (op.groups === 1 || isDepthwise(op));
  const dense = (input: tf.Tensor4D, filter: tf.Tensor4D) =>
    fused
      ? tf.fused.conv2d({ x: input, filter, strides: stride, pad, dataFormat: "NHWC", dilations: dilation, bias })
      : tf.conv2d(input, filter, stride, pad, "NHWC", dilation);
  const depthwise = (input: tf.Tensor4D, filter: tf.Tensor4D) =>
    fused
      ? tf.fused.depthwiseConv2d({ x: input, filter, strides: stride, pad, dataFormat: "NHWC", dilations: dilation, bias })
      : tf.depthwiseConv2d(input, filter, stride, pad, "NHWC", dilation);

  let y: tf.Tensor4D;
  if (op.groups === 1) y = dense(source, filter);
  else if (isDepthwise(op)) y = depthwise(source, filter);
  else if (op.groups <= MAX_GROUPS_CONV_PER_GROUP) {
    const inputs = tf.split(source, op.groups, 3) as tf.Tensor4D[];
    const filters = tf.split(filter, op.groups, 3) as tf.Tensor4D[];
    y = tf.concat(inputs.map((input, g) => dense(input, filters[g]!)), 3);
  } else {
    const [kh, kw, inPerGroup] = filter.shape;
    const outPerGroup = op.outChannels / op.groups;
    // [kh, kw, in/g, g·out/g] → [kh, kw, g·in/g, out/g]: input channel c's filters are its group's.
    const perInput = filter
      .reshape([kh, kw, inPerGroup, op.groups, outPerGroup])
      .transpose([0, 1, 3, 2, 4])
      .reshape([kh, kw, op.inChannels, outPerGroup]) as tf.Tensor4D;
    const products = tf.depthwiseConv2d(source, perInput, stride, pad, "NHWC", dilation);
    const [n, h, w] = products.shape;
    y = tf.sum(products.reshape([n, h, w, op.groups, inPerGroup, outPerGroup]), 4).reshape([n, h, w, op.outChannels]);
  }
  return bias && !fused ? tf.add(y, bias) : y;
}
