/**
 * `tf.unsortedSegmentSum`, the gradient of `tf.gather`: one pass adding each slice of `x` into the
 * row its segment id names. As in TensorFlow, the ids' shape leads x's and ids outside
 * [0, numSegments) are dropped. The cpu backend's version makes one masked copy of `x` per segment.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmKernel } from "./heap.js";
import { simdLoops } from "./simd.js";
import { addAt } from "../../util/element-at.js";

export const unsortedSegmentSumKernel = wasmKernel<tf.UnsortedSegmentSumAttrs>(tf.UnsortedSegmentSum, (heap, { x, segmentIds }, { numSegments }) => {
  if (x!.dtype !== "float32" && x!.dtype !== "int32") throw new Error(`UnsortedSegmentSum on wasm: x must be float32 or int32, got ${x!.dtype}`);
  const idsRank = segmentIds!.shape.length;
  if (idsRank > x!.shape.length || segmentIds!.shape.some((size, axis) => size !== x!.shape[axis]))
    throw new Error(`UnsortedSegmentSum: segment ids of shape [${segmentIds!.shape}] do not lead x's shape [${x!.shape}]`);
  const sliceShape = x!.shape.slice(idsRank);
  const sliceSize = tf.util.sizeFromShape(sliceShape);
  const out = heap.zeros([numSegments, ...sliceShape], x!.dtype);
  const ids = heap.ints(segmentIds!);
  const inRange = (segment: number) => segment >= 0 && segment < numSegments;
  if (x!.dtype === "float32") {
    const [loops, from, to] = [simdLoops(heap), heap.offset(x!), heap.offset(out)];
    ids.forEach((segment, slice) => inRange(segment) && loops.accumulateRows(to + segment * sliceSize, 0, from + slice * sliceSize, 0, sliceSize, 1));
    return out;
  }
  const [values, sums] = [heap.ints(x!), heap.ints(out)];
  ids.forEach((segment, slice) => {
    if (inRange(segment)) for (let i = 0; i < sliceSize; i++) addAt(sums, segment * sliceSize + i, values[slice * sliceSize + i]!);
  });
  return out;
});
