/**
 * torchvision's box branch (`models/detection/roi_heads.py`, `faster_rcnn.py`): `TwoMLPHead`,
 * `FastRCNNPredictor`, and `RoIHeads` — proposal sampling and `fastrcnn_loss` in training,
 * `postprocess_detections` in inference.
 *
 * Linear weights are stored `[in, out]` (`lowering/layouts.ts`). fc6 reads the NHWC pooled boxes
 * flattened as they lie (H·W·C): its weight's rows are permuted from torchvision's C·H·W order at
 * import and back at export, which saves a transpose of every pooled box in every step.
 */
import * as tf from "@tensorflow/tfjs";
import { hashKey } from "../lowering/initialisation.js";
import type { Size2D } from "./geometry.js";
import { BoxCoder, ROI_HEADS_BOX_CODER_WEIGHTS } from "./box-coder.js";
import { batchedNms, boxIou, clipBoxesToImage, isLargeEnough } from "./boxes.js";
import { smoothL1 } from "./losses.js";
import { BalancedPositiveNegativeSampler, Matcher } from "./matcher.js";
import type { MultiScaleRoIAlign } from "./poolers.js";
import type { Random } from "../util/random.js";
import { DISCARDED_SCORE, type TargetTensors } from "./rpn.js";

/**
 * `nn.Linear` modules of one head, keyed `{module}.weight` / `{module}.bias`, with `nn.Linear`'s
 * default init (kaiming_uniform(a=√5): U(±1/√in) for weight and bias), which torchvision keeps.
 */
class Linears {
  readonly variables = new Map<string, tf.Variable>();

  constructor(
    layers: readonly (readonly [module: string, inFeatures: number, outFeatures: number])[],
    seed: number,
    namePrefix: string,
  ) {
    for (const [module, inFeatures, outFeatures] of layers) {
      const bound = 1 / Math.sqrt(inFeatures);
      for (const [role, shape] of [["weight", [inFeatures, outFeatures]], ["bias", [outFeatures]]] as const) {
        const key = `${module}.${role}`;
        const initial = tf.randomUniform([...shape], -bound, bound, "float32", (seed ^ hashKey(key)) >>> 0);
        this.variables.set(key, tf.variable(initial, true, `${namePrefix}${key}`));
        initial.dispose();
      }
    }
  }

  linear(module: string, x: tf.Tensor2D): tf.Tensor2D {
    return tf.add(tf.matMul(x, this.variables.get(`${module}.weight`) as tf.Tensor2D), this.variables.get(`${module}.bias`)!);
  }

  dispose(): void {
    this.variables.forEach((variable) => variable.dispose());
  }
}

/** Two fully connected layers with ReLU on the flattened pooled boxes (`fc6`, `fc7`). */
export class TwoMLPHead extends Linears {
  constructor(
    readonly inChannels: number,
    readonly resolution: number,
    representationSize: number,
    seed: number,
    namePrefix = "",
  ) {
    const flattened = inChannels * resolution * resolution;
    super([["fc6", flattened, representationSize], ["fc7", representationSize, representationSize]], seed, namePrefix);
  }

  /** `[K, H, W, C]` pooled boxes to `[K, representationSize]`. */
  apply(pooled: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      const flattened = pooled.reshape([pooled.shape[0], -1]) as tf.Tensor2D;
      return tf.relu(this.linear("fc7", tf.relu(this.linear("fc6", flattened))));
    });
  }
}

/** Class logits (`cls_score`) and per-class box deltas (`bbox_pred`). */
export class FastRCNNPredictor extends Linears {
  constructor(inChannels: number, readonly numClasses: number, seed: number, namePrefix = "") {
    super([["cls_score", inChannels, numClasses], ["bbox_pred", inChannels, 4 * numClasses]], seed, namePrefix);
  }

  apply(x: tf.Tensor2D): { classLogits: tf.Tensor2D; boxRegression: tf.Tensor2D } {
    return tf.tidy(() => ({ classLogits: this.linear("cls_score", x), boxRegression: this.linear("bbox_pred", x) }));
  }
}

/** RoIHeads' arguments, as FasterRCNN passes them (`box_*`). */
export interface BoxSettings {
  readonly scoreThresh: number;
  readonly nmsThresh: number;
  readonly detectionsPerImg: number;
  readonly fgIouThresh: number;
  readonly bgIouThresh: number;
  readonly batchSizePerImage: number;
  readonly positiveFraction: number;
}

export type RoIHeadsLosses = {
  readonly lossClassifier: tf.Scalar;
  readonly lossBoxReg: tf.Scalar;
};

/** One image's detections: `boxes` `[D, 4]`, `scores` `[D]`, `labels` `[D]` int32 in 1..K. */
export type DetectionTensors = {
  readonly boxes: tf.Tensor2D;
  readonly scores: tf.Tensor1D;
  readonly labels: tf.Tensor1D;
};

/** Pooled features per chunk at inference (see `predictInChunks`). */
const POOLED_CHUNK_BYTES = 16 * 2 ** 20;

/** `postprocess_detections`' `min_size`. */
const MIN_DETECTION_SIZE = 1e-2;

export class RoIHeads {
  readonly boxCoder = new BoxCoder(ROI_HEADS_BOX_CODER_WEIGHTS);
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;

  constructor(
    readonly boxRoiPool: MultiScaleRoIAlign,
    readonly boxHead: TwoMLPHead,
    readonly boxPredictor: FastRCNNPredictor,
    readonly settings: BoxSettings,
    readonly random: Random,
    /** At inference, proposals go through the box head in chunks of this many bytes of pooled features. */
    readonly pooledChunkBytes = POOLED_CHUNK_BYTES,
  ) {
    this.proposalMatcher = new Matcher(settings.fgIouThresh, settings.bgIouThresh, false);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(settings.batchSizePerImage, settings.positiveFraction);
  }

  /** Keyed by torchvision's state-dict key relative to the RoI heads (`box_head.fc6.weight`). */
  get variables(): Map<string, tf.Variable> {
    return new Map([
      ...[...this.boxHead.variables].map(([key, variable]) => [`box_head.${key}`, variable] as const),
      ...[...this.boxPredictor.variables].map(([key, variable]) => [`box_predictor.${key}`, variable] as const),
    ]);
  }

  /** `box_roi_pool` → `box_head` → `box_predictor`. */
  private predict(features: ReadonlyMap<string, tf.Tensor4D>, proposals: readonly tf.Tensor2D[], imageSizes: readonly Size2D[]) {
    return this.boxPredictor.apply(this.boxHead.apply(this.boxRoiPool.forward(features, proposals, imageSizes)));
  }

  /**
   * {@link predict} a chunk of one image's proposals at a time: the pooled features of every
   * proposal (2 000 × 7×7×256 floats at 512 px, twice with the box head's reshape of them) never
   * exist at once. Rows are independent through the box head, so the result is the same.
   */
  private predictInChunks(features: ReadonlyMap<string, tf.Tensor4D>, proposals: readonly tf.Tensor2D[], imageSizes: readonly Size2D[]) {
    const [height, width] = this.boxRoiPool.outputSize;
    const channels = features.values().next().value?.shape[3] ?? 1;
    const perChunk = Math.max(1, Math.floor(this.pooledChunkBytes / (height * width * channels * 4)));
    if (proposals.every((boxes) => boxes.shape[0] <= perChunk)) return this.predict(features, proposals, imageSizes);
    const none = tf.zeros([0, 4]) as tf.Tensor2D;
    const parts = proposals.flatMap((boxes, image) =>
      Array.from({ length: Math.ceil(boxes.shape[0] / perChunk) }, (_, chunk) =>
        tf.tidy(() => {
          const start = chunk * perChunk;
          const only = boxes.slice([start, 0], [Math.min(perChunk, boxes.shape[0] - start), 4]);
          return this.predict(features, proposals.map((_, other) => (other === image ? only : none)), imageSizes);
        }),
      ),
    );
    return { classLogits: tf.concat(parts.map((part) => part.classLogits)) as tf.Tensor2D, boxRegression: tf.concat(parts.map((part) => part.boxRegression)) as tf.Tensor2D };
  }

  /** Training: sample proposals against the targets and return `fastrcnn_loss`. */
  computeLosses(
    features: ReadonlyMap<string, tf.Tensor4D>,
    proposals: readonly tf.Tensor2D[],
    imageSizes: readonly Size2D[],
    targets: readonly TargetTensors[],
  ): RoIHeadsLosses {
    return tf.tidy(() => {
      const samples = this.selectTrainingSamples(proposals, targets);
      const { classLogits, boxRegression } = this.predict(features, samples.proposals, imageSizes);
      return fastrcnnLoss(classLogits, boxRegression, samples.labels, samples.regressionTargets);
    });
  }

  /**
   * `select_training_samples`: ground-truth boxes join the proposals, each is matched (0.5 / 0.5) and
   * labelled with its ground truth's class (0 below the low threshold), and `batch_size_per_image`
   * are sampled per image, kept in index order as `torch.where` returns them.
   */
  private selectTrainingSamples(proposals: readonly tf.Tensor2D[], targets: readonly TargetTensors[]) {
    const candidates = proposals.map((boxes, image) => tf.concat([boxes, targets[image]!.boxes]) as tf.Tensor2D);
    const assignments = candidates.map((boxes, image) => this.assignTargets(boxes, targets[image]!));
    const { positive, negative } = this.fgBgSampler.sample(assignments.map((a) => a.labels), this.random);
    const sampledProposals: tf.Tensor2D[] = [];
    const labels: tf.Tensor1D[] = [];
    const matchedBoxes: tf.Tensor2D[] = [];
    candidates.forEach((boxes, image) => {
      const chosen = tf.logicalOr(positive[image]!, negative[image]!).dataSync();
      const indices = tf.tensor1d(Int32Array.from(chosen.keys()).filter((i) => chosen[i]), "int32");
      sampledProposals.push(tf.gather(boxes, indices));
      labels.push(tf.gather(assignments[image]!.labels, indices));
      matchedBoxes.push(tf.gather(assignments[image]!.matchedBoxes, indices));
    });
    return {
      proposals: sampledProposals,
      labels: tf.concat(labels) as tf.Tensor1D,
      regressionTargets: this.boxCoder.encodeSingle(tf.concat(matchedBoxes), tf.concat(sampledProposals)),
    };
  }

  /** `assign_targets_to_proposals`: per candidate its label and its ground truth's box (zeros without one). */
  private assignTargets(boxes: tf.Tensor2D, target: TargetTensors): { labels: tf.Tensor1D; matchedBoxes: tf.Tensor2D } {
    const count = boxes.shape[0];
    if (target.boxes.shape[0] === 0) return { labels: tf.zeros([count], "int32"), matchedBoxes: tf.zeros([count, 4]) };
    const matched = this.proposalMatcher.match(boxIou(target.boxes, boxes));
    const clamped = tf.maximum(matched, tf.scalar(0, "int32"));
    // The ground truth's class, 0 below the low threshold, -1 between the thresholds (ignored).
    const classes = tf.mul(tf.gather(target.labels, clamped), tf.cast(tf.greaterEqual(matched, 0), "int32"));
    const labels = tf.sub(classes, tf.cast(tf.equal(matched, Matcher.BETWEEN_THRESHOLDS), "int32")) as tf.Tensor1D;
    return { labels, matchedBoxes: tf.gather(target.boxes, clamped) };
  }

  /**
   * Inference, `postprocess_detections`: per image, class probabilities and per-class boxes clipped
   * to the image; background dropped; scores `> score_thresh`, boxes at least 0.01 wide and high;
   * NMS per class; the `detections_per_img` best.
   */
  detect(
    features: ReadonlyMap<string, tf.Tensor4D>,
    proposals: readonly tf.Tensor2D[],
    imageSizes: readonly Size2D[],
  ): DetectionTensors[] {
    return tf.tidy(() => {
      const { classLogits, boxRegression } = this.predictInChunks(features, proposals, imageSizes);
      const numClasses = classLogits.shape[1];
      const counts = proposals.map((boxes) => boxes.shape[0]);
      const boxes = tf.split(this.boxCoder.decode(boxRegression, proposals), counts);
      const scores = tf.split(tf.softmax(classLogits), counts);
      return boxes.map((imageBoxes, image) => {
        const count = counts[image]!;
        const clipped = clipBoxesToImage(imageBoxes, imageSizes[image]!);
        const foregroundBoxes = clipped.slice([0, 1, 0], [-1, -1, -1]).reshape([-1, 4]) as tf.Tensor2D;
        const foregroundScores = scores[image]!.slice([0, 1], [-1, -1]).reshape([-1]) as tf.Tensor1D;
        const labels = tf.tile(tf.range(1, numClasses, 1, "int32"), [count]) as tf.Tensor1D;
        const largeEnough = isLargeEnough(foregroundBoxes, MIN_DETECTION_SIZE);
        const kept = tf.logicalAnd(tf.greater(foregroundScores, this.settings.scoreThresh), largeEnough);
        // A filled tensor, not a scalar: tfjs broadcasts a scalar to shape [1], not [0], for an image without proposals.
        const ranked = tf.where(kept, foregroundScores, tf.fill(foregroundScores.shape, DISCARDED_SCORE)) as tf.Tensor1D;
        const keep = batchedNms(foregroundBoxes, ranked, labels, this.settings.nmsThresh, this.settings.detectionsPerImg, DISCARDED_SCORE);
        return {
          boxes: tf.gather(foregroundBoxes, keep),
          scores: tf.gather(foregroundScores, keep),
          labels: tf.gather(labels, keep),
        };
      });
    });
  }

  dispose(): void {
    this.boxHead.dispose();
    this.boxPredictor.dispose();
  }
}

/**
 * `fastrcnn_loss`: cross-entropy over the sampled proposals, and smooth L1 (β = 1/9) between the
 * deltas predicted for each foreground proposal's own class and its targets, summed and divided by
 * the number of sampled proposals.
 */
export function fastrcnnLoss(
  classLogits: tf.Tensor2D,
  boxRegression: tf.Tensor2D,
  labels: tf.Tensor1D,
  regressionTargets: tf.Tensor2D,
): RoIHeadsLosses {
  return tf.tidy(() => {
    const [count, numClasses] = classLogits.shape;
    const oneHot = tf.oneHot(labels, numClasses);
    const lossClassifier = tf.div(tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(classLogits)))), count) as tf.Scalar;
    const perClass = boxRegression.reshape([count, numClasses, 4]);
    const ownClassDeltas = tf.sum(tf.mul(perClass, oneHot.reshape([count, numClasses, 1])), 1);
    const boxLoss = tf.sum(smoothL1(tf.sub(ownClassDeltas, regressionTargets), 1 / 9), 1);
    const lossBoxReg = tf.div(tf.sum(tf.where(tf.greater(labels, 0), boxLoss, 0)), count) as tf.Scalar;
    return { lossClassifier, lossBoxReg };
  });
}
