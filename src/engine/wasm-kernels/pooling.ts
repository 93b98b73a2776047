/**
 * Average pooling's gradient for non-overlapping windows (stride = window, "valid"), RoIAlign's
 * per-bin mean: each input pixel gets its window's gradient over the window's size. tfjs-wasm's
 * generic loop took 170 ms for a batch of 512 pooled boxes; this one copy-and-scale pass ~10×
 * less. Other shapes go to the backend's own kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmKernel } from "./heap.js";

const pair = (value: number | [number, number]): [number, number] => (typeof value === "number" ? [value, value] : value);

export const avgPoolGradKernel = wasmKernel<tf.AvgPoolGradAttrs>(tf.AvgPoolGrad, (heap, { dy, input }, attrs) => {
  const [filterHeight, filterWidth] = pair(attrs.filterSize);
  const [strideHeight, strideWidth] = pair(attrs.strides);
  if (filterHeight !== strideHeight || filterWidth !== strideWidth || attrs.pad !== "valid" || dy!.dtype !== "float32")
    return heap.runBuiltin(tf.AvgPoolGrad, { dy: dy!, input: input! }, attrs);
  const [batch, height, width, channels] = input!.shape as [number, number, number, number];
  const [, outHeight, outWidth] = dy!.shape as [number, number, number, number];
  const dx = heap.zeros(input!.shape);
  const [source, target] = [heap.floats(dy!), heap.floats(dx)];
  const scale = 1 / (filterHeight * filterWidth);
  for (let n = 0; n < batch; n++)
    for (let y = 0; y < outHeight * filterHeight; y++)
      for (let x = 0; x < outWidth * filterWidth; x++) {
        const from = ((n * outHeight + Math.floor(y / filterHeight)) * outWidth + Math.floor(x / filterWidth)) * channels;
        const to = ((n * height + y) * width + x) * channels;
        for (let c = 0; c < channels; c++) target[to + c] = source[from + c]! * scale;
      }
  return dx;
});
