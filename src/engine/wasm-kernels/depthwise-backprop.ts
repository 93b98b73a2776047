/**
 * The gradients of a depthwise convolution (filter [KH, KW, C, M]: output channel c·M + m is input
 * channel c through filter (c, m)). Each output channel reads one input channel, so there is no
 * matrix product to hand to XNNPACK: the filter's gradient is a loop on the heap, and the input's
 * gradient is, at stride 1, XNNPACK's depthwise convolution of dy with the rotated filter, else a
 * loop on the heap.
 */
import * as tf from "@tensorflow/tfjs";
import { assertShape, transposedPadding } from "./conv2d-backprop.js";
import { type TensorInfo, type WasmHeap, wasmKernel } from "./heap.js";
import { withShape } from "./matmul.js";
import type { Convolution } from "./patches.js";

type DepthwiseAttrs = {
  strides: [number, number] | number;
  dilations: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
};

/** Calls `visit(inputPixel, outputPixel, tap)` for every filter tap that reads an input pixel (not padding). */
function forEachTap(conv: Convolution, visit: (inputPixel: number, outputPixel: number, tap: number) => void): void {
  const { batchSize, inHeight, inWidth, outHeight, outWidth, strideHeight, strideWidth } = conv;
  const { dilationHeight, dilationWidth, filterHeight, filterWidth } = conv;
  const { top, left } = conv.padInfo;
  for (let image = 0; image < batchSize; image++)
    for (let oh = 0; oh < outHeight; oh++)
      for (let ow = 0; ow < outWidth; ow++) {
        const outputPixel = (image * outHeight + oh) * outWidth + ow;
        for (let kh = 0; kh < filterHeight; kh++) {
          const ih = oh * strideHeight + kh * dilationHeight - top;
          if (ih < 0 || ih >= inHeight) continue;
          for (let kw = 0; kw < filterWidth; kw++) {
            const iw = ow * strideWidth + kw * dilationWidth - left;
            if (iw >= 0 && iw < inWidth) visit((image * inHeight + ih) * inWidth + iw, outputPixel, kh * filterWidth + kw);
          }
        }
      }
}

export const depthwiseBackpropFilterKernel = wasmKernel<DepthwiseAttrs & { filterShape: Convolution["filterShape"] }>(
  tf.DepthwiseConv2dNativeBackpropFilter,
  (heap, { x, dy }, { strides, dilations, pad, dimRoundingMode, filterShape }) => {
    const conv = tf.backend_util.computeConv2DInfo(x!.shape as Convolution["inShape"], filterShape, strides, dilations, pad, dimRoundingMode, true);
    assertShape(tf.DepthwiseConv2dNativeBackpropFilter, "dy", dy!.shape, conv.outShape);
    const channels = conv.inChannels;
    const multiplier = conv.outChannels / channels;
    // Sums over every output pixel: accumulated in doubles, as the cpu backend does.
    const sums = new Float64Array(tf.util.sizeFromShape(filterShape));
    const input = heap.floats(x!);
    const gradient = heap.floats(dy!);
    forEachTap(conv, (inputPixel, outputPixel, tap) => {
      const inputAt = inputPixel * channels;
      const gradientAt = outputPixel * conv.outChannels;
      const sumAt = tap * conv.outChannels;
      if (multiplier === 1) {
        for (let c = 0; c < channels; c++) sums[sumAt + c] += input[inputAt + c]! * gradient[gradientAt + c]!;
        return;
      }
      for (let c = 0; c < channels; c++) {
        const value = input[inputAt + c]!;
        for (let m = c * multiplier; m < (c + 1) * multiplier; m++) sums[sumAt + m] += value * gradient[gradientAt + m]!;
      }
    });
    const out = heap.allocate(filterShape);
    heap.floats(out).set(sums);
    return out;
  },
);

/** W [KH, KW, C, M] rotated by 180° as a multiplier-1 depthwise filter over dy's C·M channels: [KH, KW, C·M, 1]. */
function rotatedPerOutputChannel(heap: WasmHeap, filter: TensorInfo): TensorInfo {
  const [kh, kw, c, m] = filter.shape as [number, number, number, number];
  const out = heap.allocate([kh, kw, c * m, 1]);
  const source = heap.floats(filter);
  const target = heap.floats(out);
  const taps = kh * kw;
  for (let tap = 0; tap < taps; tap++) target.set(source.subarray((taps - 1 - tap) * c * m, (taps - tap) * c * m), tap * c * m);
  return out;
}

export const depthwiseBackpropInputKernel = wasmKernel<DepthwiseAttrs & { inputShape: Convolution["inShape"] }>(
  tf.DepthwiseConv2dNativeBackpropInput,
  (heap, { dy, filter }, { strides, dilations, pad, dimRoundingMode, inputShape }) => {
    const filterShape = filter!.shape as Convolution["filterShape"];
    const conv = tf.backend_util.computeConv2DInfo(inputShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
    assertShape(tf.DepthwiseConv2dNativeBackpropInput, "dy", dy!.shape, conv.outShape);
    const padding = conv.strideHeight === 1 && conv.strideWidth === 1 ? transposedPadding(conv) : null;
    return padding ? backpropInputByConvolution(heap, dy!, filter!, conv, padding) : backpropInputByLoop(heap, dy!, filter!, conv);
  },
);

/** dx = Σ_m depthwise(dy, rotated W)[…, c·M + m]: one XNNPACK depthwise convolution, then a sum over m if M > 1. */
function backpropInputByConvolution(
  heap: WasmHeap,
  dy: TensorInfo,
  filter: TensorInfo,
  conv: Convolution,
  padding: tf.backend_util.ExplicitPadding,
): TensorInfo {
  const rotated = rotatedPerOutputChannel(heap, filter);
  const dilations = [conv.dilationHeight, conv.dilationWidth];
  const perOutputChannel = heap.runBuiltin(tf.DepthwiseConv2dNative, { x: dy, filter: rotated }, { strides: 1, pad: padding, dilations });
  heap.dispose(rotated);
  const multiplier = conv.outChannels / conv.inChannels;
  if (multiplier === 1) return perOutputChannel;
  const grouped = withShape(perOutputChannel, [...conv.inShape, multiplier]);
  const dx = heap.run(tf.Sum, { x: grouped }, { axis: [4], keepDims: false });
  heap.dispose(perOutputChannel);
  return dx;
}

function backpropInputByLoop(heap: WasmHeap, dy: TensorInfo, filter: TensorInfo, conv: Convolution): TensorInfo {
  const dx = heap.zeros(conv.inShape);
  const channels = conv.inChannels;
  const multiplier = conv.outChannels / channels;
  const sums = heap.floats(dx);
  const gradient = heap.floats(dy);
  const weights = heap.floats(filter);
  forEachTap(conv, (inputPixel, outputPixel, tap) => {
    const sumAt = inputPixel * channels;
    const gradientAt = outputPixel * conv.outChannels;
    const weightAt = tap * conv.outChannels;
    if (multiplier === 1) {
      for (let c = 0; c < channels; c++) sums[sumAt + c] += gradient[gradientAt + c]! * weights[weightAt + c]!;
      return;
    }
    for (let c = 0; c < channels; c++) {
      let sum = 0;
      for (let m = c * multiplier; m < (c + 1) * multiplier; m++) sum += gradient[gradientAt + m]! * weights[weightAt + m]!;
      sums[sumAt + c] += sum;
    }
  });
  return dx;
}
