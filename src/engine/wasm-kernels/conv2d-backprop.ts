/**
 * The gradients of a dense convolution as XNNPACK products.
 *
 * Filter: dW[KH·KW·CI, CO] = patches(x)ᵀ · dy[P, CO] over the P output pixels, with the patches
 * built transposed.
 * Input, stride 1: the convolution of dy with the filter rotated by 180° and its channels swapped,
 * on XNNPACK's convolution. Input, other strides: patches = dy · Wᵀ, then each patch added back to
 * the pixels it came from.
 */
import * as tf from "@tensorflow/tfjs";
import { type TensorInfo, type WasmHeap, wasmKernel } from "./heap.js";
import { multiply, transposeLastTwo, withShape } from "./matmul.js";
import { accumulatePatches, assertChannelsLast, bandRows, type Convolution, extractPatchesTransposed } from "./patches.js";

/** Output rows [firstRow, firstRow + rowCount) of `dy` [N, OH, OW, C] as pixels [rows·OW, C], in a tensor of their own. */
function copyOutputRows(heap: WasmHeap, dy: TensorInfo, conv: Convolution, firstRow: number, rowCount: number): TensorInfo {
  const channels = dy.shape[3]!;
  const rowLength = conv.outWidth * channels;
  const rows = heap.allocate([rowCount * conv.outWidth, channels]);
  heap.floats(rows).set(heap.floats(dy).subarray(firstRow * rowLength, (firstRow + rowCount) * rowLength));
  return rows;
}

export const conv2DBackpropFilterKernel = wasmKernel<tf.Conv2DBackpropFilterAttrs>(tf.Conv2DBackpropFilter, (heap, { x, dy }, attrs) => {
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs;
  assertChannelsLast(tf.Conv2DBackpropFilter, dataFormat);
  const conv = tf.backend_util.computeConv2DInfo(x!.shape as Convolution["inShape"], filterShape, strides, 1, pad, dimRoundingMode);
  assertShape(tf.Conv2DBackpropFilter, "dy", dy!.shape, conv.outShape);
  const totalRows = conv.batchSize * conv.outHeight;
  const band = bandRows(conv);
  const planes = heap.run(tf.Transpose, { x: x! }, { perm: [0, 3, 1, 2] });
  let gradient: TensorInfo | undefined;
  for (let firstRow = 0; firstRow < totalRows; firstRow += band) {
    const rowCount = Math.min(band, totalRows - firstRow);
    // patchesᵀ [KH·KW·CI, P] · dy [P, CO]: XNNPACK packs its `b` slowly, so `b` is the small dy.
    const patches = extractPatchesTransposed(heap, planes, conv, firstRow, rowCount);
    const dyRows = copyOutputRows(heap, dy!, conv, firstRow, rowCount);
    const product = multiply(heap, patches, dyRows);
    heap.dispose(patches, dyRows);
    if (!gradient) {
      gradient = product;
      continue;
    }
    const sum = heap.floats(gradient);
    const part = heap.floats(product);
    for (let i = 0; i < sum.length; i++) sum[i] += part[i]!;
    heap.dispose(product);
  }
  heap.dispose(planes);
  return gradient ? withShape(gradient, filterShape) : heap.zeros(filterShape);
});

/** W [KH, KW, CI, CO] rotated by 180° with its channel axes swapped: [KH, KW, CO, CI]. */
function rotatedSwapped(heap: WasmHeap, filter: TensorInfo): TensorInfo {
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const out = heap.allocate([kh, kw, co, ci]);
  const source = heap.floats(filter);
  const target = heap.floats(out);
  for (let tap = 0; tap < kh * kw; tap++) {
    const from = (kh * kw - 1 - tap) * ci * co;
    const to = tap * co * ci;
    for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) target[to + o * ci + i] = source[from + i * co + o]!;
  }
  return out;
}

/**
 * For a stride-1 convolution (where OH = IH + top + bottom − span exactly), the padding that makes
 * the convolution of dy with the rotated filter give dx; null if some side would need a negative
 * one (padding wider than the dilated filter).
 */
export function transposedPadding(conv: Convolution): tf.backend_util.ExplicitPadding | null {
  const spanHeight = (conv.filterHeight - 1) * conv.dilationHeight;
  const spanWidth = (conv.filterWidth - 1) * conv.dilationWidth;
  const { top, bottom, left, right } = conv.padInfo;
  const pads = [spanHeight - top, spanHeight - bottom, spanWidth - left, spanWidth - right];
  if (pads.some((p) => p < 0)) return null;
  return [[0, 0], [pads[0]!, pads[1]!], [pads[2]!, pads[3]!], [0, 0]];
}

export const conv2DBackpropInputKernel = wasmKernel<tf.Conv2DBackpropInputAttrs>(tf.Conv2DBackpropInput, (heap, { dy, filter }, attrs) => {
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = attrs;
  assertChannelsLast(tf.Conv2DBackpropInput, dataFormat);
  const conv = tf.backend_util.computeConv2DInfo(inputShape, filter!.shape as Convolution["filterShape"], strides, 1, pad, dimRoundingMode);
  assertShape(tf.Conv2DBackpropInput, "dy", dy!.shape, conv.outShape);
  const padding = conv.strideHeight === 1 && conv.strideWidth === 1 ? transposedPadding(conv) : null;
  if (padding) {
    const rotated = rotatedSwapped(heap, filter!);
    const dx = heap.runBuiltin(tf.Conv2D, { x: dy!, filter: rotated }, { strides: 1, pad: padding, dataFormat: "NHWC", dilations: 1 });
    heap.dispose(rotated);
    return dx;
  }
  return backpropInputByPatches(heap, dy!, filter!, conv);
});

/** dx as Σ over output pixels of (dy · Wᵀ)'s patches, added back where `extractPatches` took them. */
export function backpropInputByPatches(heap: WasmHeap, dy: TensorInfo, filter: TensorInfo, conv: Convolution): TensorInfo {
  const patchLength = conv.filterHeight * conv.filterWidth * conv.inChannels;
  const filterRows = heap.reshape(filter, [patchLength, conv.outChannels]);
  const filterTransposed = transposeLastTwo(heap, filterRows);
  const dx = heap.zeros(conv.inShape);
  const totalRows = conv.batchSize * conv.outHeight;
  const band = bandRows(conv);
  for (let firstRow = 0; firstRow < totalRows; firstRow += band) {
    const rowCount = Math.min(band, totalRows - firstRow);
    const dyRows = rowCount === totalRows ? heap.reshape(dy, [rowCount * conv.outWidth, conv.outChannels]) : copyOutputRows(heap, dy, conv, firstRow, rowCount);
    const patches = multiply(heap, dyRows, filterTransposed);
    accumulatePatches(heap, patches, dx, conv, firstRow, rowCount);
    heap.dispose(dyRows, patches);
  }
  heap.dispose(filterRows, filterTransposed);
  return dx;
}

export function assertShape(kernelName: string, name: string, actual: readonly number[], expected: readonly number[]): void {
  if (actual.length !== expected.length || actual.some((size, axis) => size !== expected[axis]))
    throw new Error(`${kernelName}: ${name} has shape [${actual}], the convolution's output is [${expected}]`);
}
