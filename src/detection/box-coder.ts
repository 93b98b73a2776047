/**
 * torchvision's `BoxCoder` (`models/detection/_utils.py`): boxes <-> regression targets
 * `(dx, dy, dw, dh)` relative to reference boxes, with per-coordinate weights. Faster R-CNN uses
 * weights `(1, 1, 1, 1)` in the RPN and `(10, 10, 5, 5)` in the box head. Widths are `x2 - x1` (no +1).
 */
import * as tf from "@tensorflow/tfjs";
import { boxColumns } from "./boxes.js";

export type BoxCoderWeights = readonly [wx: number, wy: number, ww: number, wh: number];

/** Largest `dw`/`dh` fed to `exp` when decoding: a box grows at most 1000/16 times. */
export const BBOX_XFORM_CLIP = Math.log(1000 / 16);

export const RPN_BOX_CODER_WEIGHTS: BoxCoderWeights = [1, 1, 1, 1];
export const ROI_HEADS_BOX_CODER_WEIGHTS: BoxCoderWeights = [10, 10, 5, 5];

export class BoxCoder {
  constructor(
    readonly weights: BoxCoderWeights,
    readonly bboxXformClip: number = BBOX_XFORM_CLIP,
  ) {}

  /** Per image: the targets that turn `proposals[i]` into `referenceBoxes[i]` (matched row by row). */
  encode(referenceBoxes: readonly tf.Tensor2D[], proposals: readonly tf.Tensor2D[]): tf.Tensor2D[] {
    return tf.tidy(() => {
      const targets = this.encodeSingle(
        tf.concat(referenceBoxes as tf.Tensor2D[]),
        tf.concat(proposals as tf.Tensor2D[]),
      );
      return tf.split(targets, referenceBoxes.map((boxes) => boxes.shape[0]), 0);
    });
  }

  /** `[N, 4]` targets `(dx, dy, dw, dh)` encoding `referenceBoxes` (e.g. ground truth) against `proposals`. */
  encodeSingle(referenceBoxes: tf.Tensor2D, proposals: tf.Tensor2D): tf.Tensor2D {
    const [wx, wy, ww, wh] = this.weights;
    return tf.tidy(() => {
      const proposal = centreForm(proposals);
      const reference = centreForm(referenceBoxes);
      const dx = tf.div(tf.mul(wx, tf.sub(reference.centreX, proposal.centreX)), proposal.width);
      const dy = tf.div(tf.mul(wy, tf.sub(reference.centreY, proposal.centreY)), proposal.height);
      const dw = tf.mul(ww, tf.log(tf.div(reference.width, proposal.width)));
      const dh = tf.mul(wh, tf.log(tf.div(reference.height, proposal.height)));
      return tf.concat([dx, dy, dw, dh], 1) as tf.Tensor2D;
    });
  }

  /**
   * Applies `relCodes` (`[N, 4 * K]`, K boxes per reference, e.g. one per class) to the references
   * of all images concatenated; returns `[N, K, 4]`.
   */
  decode(relCodes: tf.Tensor2D, boxes: readonly tf.Tensor2D[]): tf.Tensor3D {
    const boxCount = boxes.reduce((total, perImage) => total + perImage.shape[0], 0);
    return tf.tidy(() => {
      const decoded = this.decodeSingle(relCodes.reshape([boxCount, -1]), tf.concat(boxes as tf.Tensor2D[]));
      return decoded.reshape([boxCount, decoded.shape[1] / 4, 4]);
    });
  }

  /** `[N, 4 * K]` boxes from `[N, 4 * K]` codes relative to `[N, 4]` reference boxes. */
  decodeSingle(relCodes: tf.Tensor2D, boxes: tf.Tensor2D): tf.Tensor2D {
    const [wx, wy, ww, wh] = this.weights;
    const [count, codeWidth] = relCodes.shape;
    return tf.tidy(() => {
      const reference = centreForm(boxes);
      const perBox = (column: tf.Tensor) => column.reshape([-1, 1, 1]);
      const [width, height] = [perBox(reference.width), perBox(reference.height)];
      const [centreX, centreY] = [perBox(reference.centreX), perBox(reference.centreY)];
      const [codeX, codeY, codeW, codeH] = tf.split(relCodes.reshape([count, codeWidth / 4, 4]), 4, 2);
      const dx = tf.div(codeX!, wx);
      const dy = tf.div(codeY!, wy);
      // torchvision clamps only from above: it guards exp against overflow, small boxes stay small.
      const dw = tf.minimum(tf.div(codeW!, ww), this.bboxXformClip);
      const dh = tf.minimum(tf.div(codeH!, wh), this.bboxXformClip);
      const predictedCentreX = tf.add(tf.mul(dx, width), centreX);
      const predictedCentreY = tf.add(tf.mul(dy, height), centreY);
      const halfWidth = tf.mul(0.5, tf.mul(tf.exp(dw), width));
      const halfHeight = tf.mul(0.5, tf.mul(tf.exp(dh), height));
      return tf
        .concat(
          [
            tf.sub(predictedCentreX, halfWidth),
            tf.sub(predictedCentreY, halfHeight),
            tf.add(predictedCentreX, halfWidth),
            tf.add(predictedCentreY, halfHeight),
          ],
          2,
        )
        .reshape([count, codeWidth]);
    });
  }
}

/** Width, height and centre of `[N, 4]` corner boxes, each `[N, 1]`, computed as torchvision does. */
function centreForm(boxes: tf.Tensor2D) {
  const [x1, y1, x2, y2] = boxColumns(boxes);
  const width = tf.sub(x2, x1);
  const height = tf.sub(y2, y1);
  return { width, height, centreX: tf.add(x1, tf.mul(0.5, width)), centreY: tf.add(y1, tf.mul(0.5, height)) };
}
