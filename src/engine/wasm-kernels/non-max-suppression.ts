/**
 * `tf.image.nonMaxSuppression` on WASM, in JavaScript over the heap. tfjs-wasm's own kernel returns
 * its result as a C pointer read back as a signed 32-bit number: once the heap passes 2 GB (a
 * 512-px FPN detector in training) the indices are read from a negative offset and come back as
 * garbage. The algorithm is tfjs's own (`kernel_impls.nonMaxSuppressionV3Impl`, as the cpu backend
 * runs it): a few thousand boxes a call, well under a millisecond's worth of the step.
 */
import * as tf from "@tensorflow/tfjs";
import { wasmKernel } from "./heap.js";

export const nonMaxSuppressionV3Kernel = wasmKernel<tf.NonMaxSuppressionV3Attrs>(tf.NonMaxSuppressionV3, (heap, { boxes, scores }, attrs) => {
  const { selectedIndices } = tf.kernel_impls.nonMaxSuppressionV3Impl(
    heap.floats(boxes!),
    heap.floats(scores!),
    attrs.maxOutputSize,
    attrs.iouThreshold,
    attrs.scoreThreshold,
  );
  const selected = heap.allocate([selectedIndices.length], "int32");
  heap.ints(selected).set(selectedIndices);
  return selected;
});
