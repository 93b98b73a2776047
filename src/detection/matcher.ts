/**
 * torchvision's `Matcher` and `BalancedPositiveNegativeSampler` (`models/detection/_utils.py`):
 * which ground truth each prediction is assigned to, and which predictions train each step.
 */
import * as tf from "@tensorflow/tfjs";
import type { Random } from "../util/random.js";

/**
 * Assigns each prediction (column of an `[M gt, N predictions]` quality matrix, e.g. IoU) its best
 * ground truth when the quality is `>= highThreshold`, `BETWEEN_THRESHOLDS` (-2) when it lies in
 * `[lowThreshold, highThreshold)`, and `BELOW_LOW_THRESHOLD` (-1) below `lowThreshold`.
 * The RPN uses 0.7 / 0.3 with low-quality matches, the box head 0.5 / 0.5 without.
 */
export class Matcher {
  static readonly BELOW_LOW_THRESHOLD = -1;
  static readonly BETWEEN_THRESHOLDS = -2;

  constructor(
    readonly highThreshold: number,
    readonly lowThreshold: number,
    /**
     * Also match, for each ground truth, the predictions of highest quality with it (ties included),
     * however low, to their best ground truth. As in torchvision this includes a ground truth that
     * overlaps nothing: every prediction then ties at 0 and gets its argmax back.
     */
    readonly allowLowQualityMatches = false,
  ) {
    if (lowThreshold > highThreshold) {
      throw new Error(`Matcher: lowThreshold ${lowThreshold} is above highThreshold ${highThreshold}`);
    }
  }

  /** `[N]` int32: the matched ground-truth index per prediction, or a negative code. */
  match(matchQualityMatrix: tf.Tensor2D): tf.Tensor1D {
    const [groundTruths, predictions] = matchQualityMatrix.shape;
    if (groundTruths === 0) throw new Error("No ground-truth boxes available for one of the images during training");
    if (predictions === 0) throw new Error("No proposal boxes available for one of the images during training");
    return tf.tidy(() => {
      const matchedValues = tf.max(matchQualityMatrix, 0);
      // argMax keeps the first of equal maxima, as torch.max(dim) does.
      const bestMatches = tf.argMax(matchQualityMatrix, 0);
      const belowLow = tf.less(matchedValues, this.lowThreshold);
      const betweenThresholds = tf.logicalAnd(
        tf.greaterEqual(matchedValues, this.lowThreshold),
        tf.less(matchedValues, this.highThreshold),
      );
      let matches = tf.where(
        belowLow,
        tf.scalar(Matcher.BELOW_LOW_THRESHOLD, "int32"),
        tf.where(betweenThresholds, tf.scalar(Matcher.BETWEEN_THRESHOLDS, "int32"), bestMatches),
      );
      if (this.allowLowQualityMatches) {
        const highestForEachGt = tf.max(matchQualityMatrix, 1, true);
        const isBestForSomeGt = tf.any(tf.equal(matchQualityMatrix, highestForEachGt), 0);
        matches = tf.where(isBestForSomeGt, bestMatches, matches);
      }
      return matches as tf.Tensor1D;
    });
  }
}

export interface SampledMasks {
  /** Per image, `[N]` bool: the positives chosen. */
  positive: tf.Tensor1D[];
  /** Per image, `[N]` bool: the negatives chosen. */
  negative: tf.Tensor1D[];
}

/**
 * Picks, per image, at most `batchSizePerImage` elements of which at most
 * `int(batchSizePerImage * positiveFraction)` are positives (label >= 1), filling the rest with
 * negatives (label 0); label -1 is ignored. The RPN uses 256 / 0.5, the box head 512 / 0.25.
 *
 * torch picks with `randperm`; here every element draws a uniform key from `random` and the largest
 * keys among the candidates win, which is the same uniform choice without leaving the device.
 */
export class BalancedPositiveNegativeSampler {
  constructor(
    readonly batchSizePerImage: number,
    readonly positiveFraction: number,
  ) {}

  sample(matchedLabels: readonly tf.Tensor1D[], random: Random): SampledMasks {
    const positive: tf.Tensor1D[] = [];
    const negative: tf.Tensor1D[] = [];
    for (const labels of matchedLabels) {
      const count = labels.shape[0];
      const keys = Float32Array.from({ length: count }, random);
      const [positiveMask, negativeMask] = tf.tidy(() => {
        const keyTensor = tf.tensor1d(keys);
        // Non-candidates get key -1, below every draw, so a chosen key < 0 means "not enough candidates".
        const positiveKeys = tf.where(tf.greaterEqual(labels, 1), keyTensor, -1);
        const negativeKeys = tf.where(tf.equal(labels, 0), keyTensor, -1);
        const maxPositives = Math.min(Math.trunc(this.batchSizePerImage * this.positiveFraction), count);
        const positives = tf.topk(positiveKeys, maxPositives);
        const positiveChosen = tf.greaterEqual(positives.values, 0);
        const positiveCount = tf.sum(tf.cast(positiveChosen, "int32"));
        const maxNegatives = Math.min(this.batchSizePerImage, count);
        const negatives = tf.topk(negativeKeys, maxNegatives);
        const negativeChosen = tf.logicalAnd(
          tf.greaterEqual(negatives.values, 0),
          tf.less(tf.range(0, maxNegatives, 1, "int32"), tf.sub(this.batchSizePerImage, positiveCount)),
        );
        return [toMask(positives.indices, positiveChosen, count), toMask(negatives.indices, negativeChosen, count)];
      });
      positive.push(positiveMask);
      negative.push(negativeMask);
    }
    return { positive, negative };
  }
}

/** A `[count]` bool mask that is true at `indices` where `chosen`. */
function toMask(indices: tf.Tensor, chosen: tf.Tensor, count: number): tf.Tensor1D {
  const marks = tf.scatterND(indices.reshape([-1, 1]), tf.cast(chosen, "int32"), [count]);
  return tf.cast(marks, "bool") as tf.Tensor1D;
}
