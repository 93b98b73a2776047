/**
 * Box operations of `torchvision.ops.boxes`. Boxes are `[N, 4]` rows `(x1, y1, x2, y2)` in pixels
 * with `0 <= x1 < x2` and `0 <= y1 < y2`; widths are `x2 - x1` (no +1), as in torchvision.
 */
import * as tf from "@tensorflow/tfjs";
import { nextUp } from "./numerics.js";

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

/** `remove_small_boxes`: indices of the boxes whose width and height are both `>= minSize`. */
export async function removeSmallBoxes(boxes: tf.Tensor2D, minSize: number): Promise<tf.Tensor1D> {
  const keep = tf.tidy(() => {
    const [x1, y1, x2, y2] = boxColumns(boxes);
    const wideEnough = tf.greaterEqual(tf.sub(x2, x1), minSize);
    return tf.logicalAnd(wideEnough, tf.greaterEqual(tf.sub(y2, y1), minSize)).reshape([-1]);
  });
  const coordinates = await tf.whereAsync(keep);
  keep.dispose();
  const indices = coordinates.reshape([-1]) as tf.Tensor1D;
  coordinates.dispose();
  return indices;
}

/**
 * `nms`: indices (int32) of the boxes kept by non-maximum suppression, by decreasing score.
 *
 * torchvision suppresses a box when its IoU with a kept box is `> iouThreshold`; TensorFlow.js
 * suppresses at `>=`. Passing the next double above the threshold gives torchvision's rule, so a pair
 * exactly at the threshold survives. IoU never exceeds 1, so a threshold >= 1 suppresses nothing.
 * The async op runs the same JavaScript (float64 IoU) on every backend; ties in score keep the lower
 * index first, like torchvision's stable sort.
 */
export async function nms(boxes: tf.Tensor2D, scores: tf.Tensor1D, iouThreshold: number): Promise<tf.Tensor1D> {
  const count = boxes.shape[0];
  if (iouThreshold >= 1) return tf.topk(scores, count).indices as tf.Tensor1D;
  // tfjs reads boxes as (y1, x1, y2, x2), but its IoU takes min/max per axis, so (x1, y1, x2, y2) is equivalent.
  return tf.image.nonMaxSuppressionAsync(boxes, scores, count, nextUp(iouThreshold), -Infinity);
}

/**
 * `batched_nms`: NMS within each category `idxs[i]` only, by the coordinate trick torchvision uses
 * (`_batched_nms_coordinate_trick`): every category is shifted by `idx * (max coordinate + 1)` so
 * boxes of different categories cannot overlap, then one NMS runs over all of them.
 */
export async function batchedNms(
  boxes: tf.Tensor2D,
  scores: tf.Tensor1D,
  idxs: tf.Tensor1D,
  iouThreshold: number,
): Promise<tf.Tensor1D> {
  if (boxes.shape[0] === 0) return tf.tensor1d([], "int32");
  const shifted = tf.tidy(() => {
    const offsets = tf.mul(tf.cast(idxs, "float32"), tf.add(tf.max(boxes), 1));
    return tf.add(boxes, offsets.reshape([-1, 1])) as tf.Tensor2D;
  });
  const keep = await nms(shifted, scores, iouThreshold);
  shifted.dispose();
  return keep;
}
