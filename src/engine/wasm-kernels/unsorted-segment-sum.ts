/**
 * `tf.unsortedSegmentSum`, the gradient of `tf.gather`: one pass adding each slice of `x` into the
 * row its segment id names (ids outside [0, numSegments) are dropped, as TensorFlow drops negative
 * ones). The cpu backend's version makes one masked copy of `x` per segment.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmKernel } from "./heap.js";

export const unsortedSegmentSumKernel = wasmKernel<tf.UnsortedSegmentSumAttrs>(tf.UnsortedSegmentSum, (heap, { x, segmentIds }, { numSegments }) => {
  if (x!.dtype !== "float32" && x!.dtype !== "int32") throw new Error(`UnsortedSegmentSum on wasm: x must be float32 or int32, got ${x!.dtype}`);
  const idsRank = segmentIds!.shape.length;
  if (x!.shape.slice(0, idsRank).some((size, axis) => size !== segmentIds!.shape[axis]))
    throw new Error(`UnsortedSegmentSum: segment ids of shape [${segmentIds!.shape}] do not lead x's shape [${x!.shape}]`);
  const sliceShape = x!.shape.slice(idsRank);
  const sliceSize = tf.util.sizeFromShape(sliceShape);
  const out = heap.zeros([numSegments, ...sliceShape], x!.dtype);
  const ids = heap.ints(segmentIds!);
  const [values, sums] = x!.dtype === "int32" ? [heap.ints(x!), heap.ints(out)] : [heap.floats(x!), heap.floats(out)];
  for (let slice = 0; slice < ids.length; slice++) {
    const segment = ids[slice]!;
    if (segment < 0 || segment >= numSegments) continue;
    const from = slice * sliceSize;
    const to = segment * sliceSize;
    for (let i = 0; i < sliceSize; i++) sums[to + i] += values[from + i]!;
  }
  return out;
});
