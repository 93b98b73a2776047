/**
 * Box operations of `torchvision.ops.boxes`. Boxes are `[N, 4]` rows `(x1, y1, x2, y2)` in pixels
 * with `0 <= x1 < x2` and `0 <= y1 < y2`; widths are `x2 - x1` (no +1), as in torchvision.
 */
import * as tf from "@tensorflow/tfjs";
import { float32Above } from "../util/numerics.js";

/** The four coordinate columns of `[N, 4]` boxes, each `[N, 1]`. */
export function boxColumns(boxes: tf.Tensor2D): [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D] {
  return tf.split(boxes, 4, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
}

/** `box_area`: `(x2 - x1) * (y2 - y1)` per box, `[N]`. */
export function boxArea(boxes: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = boxColumns(boxes);
    return tf.mul(tf.sub(x2, x1), tf.sub(y2, y1)).reshape([-1]);
  });
}

/** `box_iou`: the `[N, M]` intersection-over-union of every pair of `boxes1[N]` and `boxes2[M]`. */
export function boxIou(boxes1: tf.Tensor2D, boxes2: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [ax1, ay1, ax2, ay2] = boxColumns(boxes1);
    const [bx1, by1, bx2, by2] = tf.split(tf.transpose(boxes2), 4, 0) as tf.Tensor2D[];
    const interWidth = tf.maximum(tf.sub(tf.minimum(ax2, bx2!), tf.maximum(ax1, bx1!)), 0);
    const interHeight = tf.maximum(tf.sub(tf.minimum(ay2, by2!), tf.maximum(ay1, by1!)), 0);
    const inter = tf.mul(interWidth, interHeight);
    const union = tf.sub(tf.add(boxArea(boxes1).reshape([-1, 1]), boxArea(boxes2).reshape([1, -1])), inter);
    return tf.div(inter, union) as tf.Tensor2D;
  });
}

/** `clip_boxes_to_image`: clamps x to `[0, width]` and y to `[0, height]`; any leading shape `[..., 4]`. */
export function clipBoxesToImage<T extends tf.Tensor>(boxes: T, size: readonly [height: number, width: number]): T {
  const [height, width] = size;
  return tf.tidy(() => tf.minimum(tf.maximum(boxes, 0), tf.tensor1d([width, height, width, height])) as T);
}

/**
 * `remove_small_boxes`' test as a mask, `[N]`: width and height both `>= minSize`. A mask rather
 * than indices keeps the number of boxes fixed, so both heads filter inside one synchronous step.
 */
export function isLargeEnough(boxes: tf.Tensor2D, minSize: number): tf.Tensor1D {
  return tf.tidy(() => {
    const [x1, y1, x2, y2] = boxColumns(boxes);
    return tf.logicalAnd(tf.greaterEqual(tf.sub(x2, x1), minSize), tf.greaterEqual(tf.sub(y2, y1), minSize)).reshape([-1]);
  });
}

/**
 * `nms`: indices (int32) of the boxes kept by non-maximum suppression, by decreasing score, at most
 * `maxOutputSize`, only boxes scored above `scoreThreshold`. Synchronous, so the RPN can select
 * proposals inside a training step.
 *
 * torchvision suppresses a box when its IoU with a kept box is `> iouThreshold`; TensorFlow.js
 * suppresses at `>=`, computing IoU in float32 on some backends. Passing the smallest float32 above
 * the threshold gives torchvision's rule, so a pair exactly at the threshold survives. IoU never
 * exceeds 1, so a threshold >= 1 suppresses nothing. Ties in score keep the lower index first, like
 * torchvision's stable sort.
 */
export function nms(
  boxes: tf.Tensor2D,
  scores: tf.Tensor1D,
  iouThreshold: number,
  maxOutputSize = boxes.shape[0],
  scoreThreshold = -Infinity,
): tf.Tensor1D {
  if (boxes.shape[0] === 0) return tf.tensor1d([], "int32");
  return tf.tidy(() => {
    if (iouThreshold >= 1) {
      const ranked = tf.topk(scores, Math.min(maxOutputSize, scores.shape[0]));
      const kept = tf.sum(tf.cast(tf.greater(ranked.values, scoreThreshold), "int32")).dataSync()[0]!;
      return ranked.indices.slice(0, kept) as tf.Tensor1D;
    }
    // tfjs reads boxes as (y1, x1, y2, x2), but its IoU takes min/max per axis, so (x1, y1, x2, y2) is equivalent.
    return tf.image.nonMaxSuppression(boxes, scores, maxOutputSize, float32Above(iouThreshold), scoreThreshold);
  });
}

/**
 * `batched_nms`: NMS within each category `idxs[i]` only, by the coordinate trick torchvision uses
 * (`_batched_nms_coordinate_trick`): every category is shifted by `idx * (max coordinate + 1)` so
 * boxes of different categories cannot overlap, then one NMS runs over all of them.
 */
export function batchedNms(
  boxes: tf.Tensor2D,
  scores: tf.Tensor1D,
  idxs: tf.Tensor1D,
  iouThreshold: number,
  maxOutputSize = boxes.shape[0],
  scoreThreshold = -Infinity,
): tf.Tensor1D {
  if (boxes.shape[0] === 0) return tf.tensor1d([], "int32");
  return tf.tidy(() => {
    const offsets = tf.mul(tf.cast(idxs, "float32"), tf.add(tf.max(boxes), 1));
    const shifted = tf.add(boxes, offsets.reshape([-1, 1])) as tf.Tensor2D;
    return nms(shifted, scores, iouThreshold, maxOutputSize, scoreThreshold);
  });
}
