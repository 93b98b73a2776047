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
import { add, pad } from "./lean-backward.js";

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
  return { input: pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]]), pad: "valid" };
}

/**
 * The five `in→out` channel pairs for which oneDNN's brgemm 1×1 convolution (TensorFlow 2.21's CPU
 * kernels, every x86 ISA from AVX2 up) divides an integer by zero while it picks its blocking: a
 * "maskrcnn workaround" special-cases them in `brg_blocking_t::est_eff_1x1`, and one of the blockings
 * it weighs has no full row block. The process dies with SIGFPE before computing anything, at any
 * spatial size. The data gradient of a 1×1 conv is a 1×1 conv from `out` to `in`, so training also
 * dies on the reversed pairs (ResNet-50's `layer3.1.conv1`, 1024→256). Measured one conv at a time.
 */
const ONEDNN_FAULTING_PAIRS: ReadonlySet<string> = new Set(["1024→2048", "1024→512", "256→1024", "512→1024", "512→2048"]);

function oneDnnFaultsOn(inChannels: number, outChannels: number): boolean {
  return ONEDNN_FAULTING_PAIRS.has(`${inChannels}→${outChannels}`) || ONEDNN_FAULTING_PAIRS.has(`${outChannels}→${inChannels}`);
}

/**
 * Every `stride`-th pixel from the first, as an unpadded 1×1 conv reads them: padded up to a whole
 * number of strides, then one pixel of each stride taken by reshape and slice (tfjs has no gradient
 * for StridedSlice).
 */
function everyStride(x: tf.Tensor4D, [strideH, strideW]: readonly [number, number]): tf.Tensor4D {
  if (strideH === 1 && strideW === 1) return x;
  const [n, h, w, c] = x.shape;
  const outH = Math.floor((h - 1) / strideH) + 1;
  const outW = Math.floor((w - 1) / strideW) + 1;
  const whole = pad(x, [[0, 0], [0, outH * strideH - h], [0, outW * strideW - w], [0, 0]]);
  return whole
    .reshape([n, outH, strideH, outW, strideW, c])
    .slice([0, 0, 0, 0, 0, 0], [n, outH, 1, outW, 1, c])
    .reshape([n, outH, outW, c]);
}

/**
 * A 1×1 conv as the matrix product it is (sampled pixels × channels, times in × out), with `bias`
 * fused in when given. TensorFlow's own non-oneDNN kernel computes the conv this way: equal values.
 */
export function pointwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: readonly [number, number], bias?: tf.Tensor): tf.Tensor4D {
  const sampled = everyStride(x, stride);
  const [n, h, w, inChannels] = sampled.shape;
  const outChannels = filter.shape[3];
  const rows = sampled.reshape([n * h * w, inChannels]) as tf.Tensor2D;
  const weights = filter.reshape([inChannels, outChannels]) as tf.Tensor2D;
  const y = bias ? tf.fused.matMul({ a: rows, b: weights, bias }) : tf.matMul(rows, weights);
  return y.reshape([n, h, w, outChannels]);
}

/**
 * `tf.conv2d` (with `bias` fused in when given), except a 1×1 conv on a channel pair oneDNN cannot
 * run, which becomes the equal matrix product on every engine, so a model computes the same way
 * everywhere. A 1×1 kernel reads no padding, so `pad` does not matter for it.
 */
export function denseConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  stride: readonly [number, number],
  pad: "same" | "valid",
  dilation: readonly [number, number],
  bias?: tf.Tensor,
): tf.Tensor4D {
  const [kh, kw, inChannels, outChannels] = filter.shape;
  if (kh === 1 && kw === 1 && oneDnnFaultsOn(inChannels, outChannels)) return pointwiseConv2d(x, filter, stride, bias);
  const strides: [number, number] = [...stride];
  const dilations: [number, number] = [...dilation];
  return bias
    ? tf.fused.conv2d({ x, filter, strides, pad, dataFormat: "NHWC", dilations, bias })
    : tf.conv2d(x, filter, strides, pad, "NHWC", dilations);
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
  const dense = (input: tf.Tensor4D, filter: tf.Tensor4D) => denseConv2d(input, filter, stride, pad, dilation, fused ? bias : undefined);
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
  return bias && !fused ? (add(y, bias) as tf.Tensor4D) : y;
}
