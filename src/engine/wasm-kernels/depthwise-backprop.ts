/**
 * The gradients of a depthwise convolution (filter [KH, KW, C, M]: output channel c·M + m is input
 * channel c through filter (c, m)). Each output channel reads one input channel, so there is no
 * matrix product to hand to XNNPACK: both gradients are multiply-accumulate loops over runs of
 * pixels, on SIMD (`simd.ts`) for the zoo's multiplier 1, in JavaScript otherwise. For the input's
 * gradient the loop also beats XNNPACK's depthwise convolution of dy with the rotated filter
 * (measured: as fast at 3×3, 3–6× faster at 5×5 and 7×7).
 */
import * as tf from "@tensorflow/tfjs";
import { checkedConvolution, columnsInside, type Convolution } from "./convolution.js";
import { wasmKernel } from "./heap.js";
import { simdLoops } from "./simd.js";
import { addAt } from "../../util/element-at.js";

/**
 * Walks every filter tap over every output row, in runs of output columns that read inside the
 * input: `run(inputPixel, outputPixel, tap, length)` gets the run's first input and output pixel
 * (flat over [N, H, W]); along the run, output pixels advance by 1 and input pixels by the stride.
 */
function forEachRun(conv: Convolution, run: (inputPixel: number, outputPixel: number, tap: number, length: number) => void): void {
  const runs = Array.from({ length: conv.filterWidth }, (_, kw) => columnsInside(conv, kw));
  for (let image = 0; image < conv.batchSize; image++)
    for (let oh = 0; oh < conv.outHeight; oh++)
      for (let kh = 0; kh < conv.filterHeight; kh++) {
        const ih = oh * conv.strideHeight + kh * conv.dilationHeight - conv.padInfo.top;
        if (ih < 0 || ih >= conv.inHeight) continue;
        for (let kw = 0; kw < conv.filterWidth; kw++) {
          const [first, end] = runs[kw]!;
          if (end === first) continue;
          const iw = first * conv.strideWidth + kw * conv.dilationWidth - conv.padInfo.left;
          run((image * conv.inHeight + ih) * conv.inWidth + iw, (image * conv.outHeight + oh) * conv.outWidth + first, kh * conv.filterWidth + kw, end - first);
        }
      }
}

export const depthwiseBackpropFilterKernel = wasmKernel<tf.DepthwiseConv2dNativeBackpropFilterAttrs>(
  tf.DepthwiseConv2dNativeBackpropFilter,
  (heap, { x, dy }, attrs) => {
    const { filterShape } = attrs;
    const conv = checkedConvolution(tf.DepthwiseConv2dNativeBackpropFilter, x!.shape, filterShape, dy!, attrs, true);
    const { inChannels: channels, outChannels, strideWidth } = conv;
    const multiplier = outChannels / channels;
    const filterGradient = heap.zeros(filterShape);
    const [inputAt, gradientAt, sumsAt] = [heap.offset(x!), heap.offset(dy!), heap.offset(filterGradient)];
    if (multiplier === 1) {
      const loops = simdLoops(heap);
      forEachRun(conv, (inputPixel, outputPixel, tap, length) =>
        loops.multiplyAccumulateRows(sumsAt + tap * channels, 0, inputAt + inputPixel * channels, strideWidth * channels, gradientAt + outputPixel * channels, channels, channels, length),
      );
      return filterGradient;
    }
    const memory = heap.allFloats();
    forEachRun(conv, (inputPixel, outputPixel, tap, length) => {
      for (let j = 0; j < length; j++) {
        const input = inputAt + (inputPixel + j * strideWidth) * channels;
        const gradient = gradientAt + (outputPixel + j) * outChannels;
        const sums = sumsAt + tap * outChannels;
        for (let c = 0; c < channels; c++)
          for (let m = c * multiplier; m < (c + 1) * multiplier; m++) addAt(memory, sums + m, memory[input + c]! * memory[gradient + m]!);
      }
    });
    return filterGradient;
  },
);

/** dx by scattering each output pixel's gradient, through each tap, onto the input pixel it read. */
export const depthwiseBackpropInputKernel = wasmKernel<tf.DepthwiseConv2dNativeBackpropInputAttrs>(
  tf.DepthwiseConv2dNativeBackpropInput,
  (heap, { dy, filter }, attrs) => {
    const conv = checkedConvolution(tf.DepthwiseConv2dNativeBackpropInput, attrs.inputShape, filter!.shape, dy!, attrs, true);
    const { inChannels: channels, outChannels, strideWidth } = conv;
    const multiplier = outChannels / channels;
    const dx = heap.zeros(conv.inShape);
    const [sumsAt, gradientAt, weightsAt] = [heap.offset(dx), heap.offset(dy!), heap.offset(filter!)];
    if (multiplier === 1) {
      const loops = simdLoops(heap);
      forEachRun(conv, (inputPixel, outputPixel, tap, length) =>
        loops.multiplyAccumulateRows(sumsAt + inputPixel * channels, strideWidth * channels, gradientAt + outputPixel * channels, channels, weightsAt + tap * channels, 0, channels, length),
      );
      return dx;
    }
    const memory = heap.allFloats();
    forEachRun(conv, (inputPixel, outputPixel, tap, length) => {
      for (let j = 0; j < length; j++) {
        const sums = sumsAt + (inputPixel + j * strideWidth) * channels;
        const gradient = gradientAt + (outputPixel + j) * outChannels;
        const weights = weightsAt + tap * outChannels;
        for (let c = 0; c < channels; c++) {
          let sum = 0;
          for (let m = c * multiplier; m < (c + 1) * multiplier; m++) sum += memory[gradient + m]! * memory[weights + m]!;
          addAt(memory, sums + c, sum);
        }
      }
    });
    return dx;
  },
);
