/** A convolution gradient kernel's geometry, checked against its tensors before any loop indexes the heap by it. */
import * as tf from "@tensorflow/tfjs";
import type { TensorInfo } from "./heap.js";

export type Convolution = tf.backend_util.Conv2DInfo;
type Shape4D = Convolution["inShape"];

export interface ConvolutionAttrs {
  strides: [number, number] | number;
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
  /** Only on the depthwise kernels; the dense ones are undilated. */
  dilations?: [number, number] | number;
  /** Only on the dense kernels. */
  dataFormat?: "NHWC" | "NCHW";
}

/**
 * The convolution of an input of `inShape` by a filter of `filterShape` (depthwise: [KH, KW, C, M])
 * that produced `dy`. Throws where the shapes disagree, since the kernels' loops would then read
 * or write outside the tensors, and for channels-first data, which the wasm backend does not run.
 */
export function checkedConvolution(kernelName: string, inShape: number[], filterShape: number[], dy: TensorInfo, attrs: ConvolutionAttrs, depthwise: boolean): Convolution {
  if (attrs.dataFormat === "NCHW") throw new Error(`${kernelName} on wasm supports dataFormat NHWC only, got NCHW`);
  if (inShape.length !== 4 || filterShape.length !== 4 || inShape[3] !== filterShape[2])
    throw new Error(`${kernelName}: input [${inShape}] and filter [${filterShape}] disagree on the input channels`);
  const { strides, dilations = 1, pad, dimRoundingMode } = attrs;
  const conv = tf.backend_util.computeConv2DInfo(inShape as Shape4D, filterShape as Shape4D, strides, dilations, pad, dimRoundingMode, depthwise);
  if (dy.shape.length !== 4 || dy.shape.some((size, axis) => size !== conv.outShape[axis]))
    throw new Error(`${kernelName}: dy has shape [${dy.shape}], the convolution's output is [${conv.outShape}]`);
  return conv;
}

/** The output columns [first, end) whose filter column `kw` reads inside the input (not padding). */
export function columnsInside(conv: Convolution, kw: number): [number, number] {
  const offset = kw * conv.dilationWidth - conv.padInfo.left; // input column of output column 0
  const first = Math.max(0, Math.ceil(-offset / conv.strideWidth));
  const end = Math.min(conv.outWidth, Math.floor((conv.inWidth - 1 - offset) / conv.strideWidth) + 1);
  return [first, Math.max(first, end)];
}
