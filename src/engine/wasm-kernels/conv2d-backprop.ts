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
import { checkedConvolution, type Convolution } from "./convolution.js";
import { type TensorInfo, type WasmHeap, wasmKernel } from "./heap.js";
import { multiply, transposeLastTwo, withShape } from "./matmul.js";
import { accumulatePatches, bandRows, extractPatchesTransposed } from "./patches.js";
import { simdLoops } from "./simd.js";

/** Output rows [firstRow, firstRow + rowCount) of `dy` [N, OH, OW, C] as pixels [rows·OW, C], in a tensor of their own. */
function copyOutputRows(heap: WasmHeap, dy: TensorInfo, conv: Convolution, firstRow: number, rowCount: number): TensorInfo {
  const channels = dy.shape[3]!;
  const rowLength = conv.outWidth * channels;
  const rows = heap.allocate([rowCount * conv.outWidth, channels]);
  heap.floats(rows).set(heap.floats(dy).subarray(firstRow * rowLength, (firstRow + rowCount) * rowLength));
  return rows;
}

export const conv2DBackpropFilterKernel = wasmKernel<tf.Conv2DBackpropFilterAttrs>(tf.Conv2DBackpropFilter, (heap, { x, dy }, attrs) => {
  const { filterShape } = attrs;
  const conv = checkedConvolution(tf.Conv2DBackpropFilter, x!.shape, filterShape, dy!, attrs, false);
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
    simdLoops(heap).accumulateRows(heap.offset(gradient), 0, heap.offset(product), 0, tf.util.sizeFromShape(product.shape), 1);
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
function transposedPadding(conv: Convolution): tf.backend_util.ExplicitPadding | null {
  const spanHeight = (conv.filterHeight - 1) * conv.dilationHeight;
  const spanWidth = (conv.filterWidth - 1) * conv.dilationWidth;
  const { top, bottom, left, right } = conv.padInfo;
  const pads = [spanHeight - top, spanHeight - bottom, spanWidth - left, spanWidth - right];
  if (pads.some((p) => p < 0)) return null;
  return [[0, 0], [pads[0]!, pads[1]!], [pads[2]!, pads[3]!], [0, 0]];
}

export const conv2DBackpropInputKernel = wasmKernel<tf.Conv2DBackpropInputAttrs>(tf.Conv2DBackpropInput, (heap, { dy, filter }, attrs) => {
  const conv = checkedConvolution(tf.Conv2DBackpropInput, attrs.inputShape, filter!.shape, dy!, attrs, false);
  const padding = conv.strideHeight === 1 && conv.strideWidth === 1 ? transposedPadding(conv) : null;
  if (padding) {
    const rotated = rotatedSwapped(heap, filter!);
    const dx = heap.runBuiltin(tf.Conv2D, { x: dy!, filter: rotated }, { strides: 1, pad: padding, dataFormat: "NHWC", dilations: 1 });
    heap.dispose(rotated);
    return dx;
  }
  return backpropInputByPatches(heap, dy!, filter!, conv);
});

/** dx as the patches dy · Wᵀ, each added back onto the input pixels it covers. */
function backpropInputByPatches(heap: WasmHeap, dy: TensorInfo, filter: TensorInfo, conv: Convolution): TensorInfo {
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
