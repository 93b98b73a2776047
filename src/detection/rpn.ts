/**
 * torchvision's `RPNHead` and `RegionProposalNetwork` (`models/detection/rpn.py`): objectness and
 * box deltas for every anchor, proposals chosen from them, and in training the two RPN losses.
 *
 * Everything here is synchronous so that a training step's losses can be computed inside
 * `tf.variableGrads` / `optimizer.minimize`: proposal selection uses tfjs's synchronous NMS kernel.
 */
import * as tf from "@tensorflow/tfjs";
import { denseConv2d } from "../lowering/convolution.js";
import { hashKey } from "../lowering/initialisation.js";
import { add } from "../lowering/lean-backward.js";
import type { AnchorGenerator } from "./anchor-utils.js";
import type { Size2D } from "./geometry.js";
import { BoxCoder, RPN_BOX_CODER_WEIGHTS } from "./box-coder.js";
import { batchedNms, boxIou, isLargeEnough } from "./boxes.js";
import { smoothL1 } from "./losses.js";
import { BalancedPositiveNegativeSampler, Matcher } from "./matcher.js";
import type { Random } from "../util/random.js";
import type { ImageList } from "./transform.js";

/** One image's ground truth, in the coordinates of the image the model sees. */
export interface TargetTensors {
  /** `[G, 4]` `(x1, y1, x2, y2)`. */
  readonly boxes: tf.Tensor2D;
  /** `[G]` int32 in 1..K. */
  readonly labels: tf.Tensor1D;
}

/**
 * RPNHead: a shared 3×3 conv + ReLU, then per anchor an objectness logit and four box deltas
 * (1×1 convs); `normal_(std=0.01)` weights and zero biases, as torchvision initialises them.
 */
export class RPNHead {
  /** Keyed by torchvision's state-dict key relative to the head (`conv.0.0.weight`, `cls_logits.bias`). */
  readonly variables = new Map<string, tf.Variable>();

  constructor(
    readonly inChannels: number,
    readonly numAnchors: number,
    seed: number,
    namePrefix = "",
  ) {
    const conv = (module: string, kernel: number, outChannels: number) => {
      const weight = `${module}.weight`;
      const initial = {
        [weight]: tf.randomNormal([kernel, kernel, inChannels, outChannels], 0, 0.01, "float32", (seed ^ hashKey(weight)) >>> 0),
        [`${module}.bias`]: tf.zeros([outChannels]),
      };
      for (const [key, value] of Object.entries(initial)) {
        this.variables.set(key, tf.variable(value, true, `${namePrefix}${key}`));
        value.dispose();
      }
    };
    conv("conv.0.0", 3, inChannels);
    conv("cls_logits", 1, numAnchors);
    conv("bbox_pred", 1, 4 * numAnchors);
  }

  private conv(module: string, x: tf.Tensor4D): tf.Tensor4D {
    const weight = this.variables.get(`${module}.weight`) as tf.Variable<tf.Rank.R4>;
    return add(denseConv2d(x, weight, [1, 1], "same", [1, 1]), this.variables.get(`${module}.bias`)!) as tf.Tensor4D;
  }

  /**
   * Per level, objectness `[N, H, W, A]` and deltas `[N, H, W, 4A]`. Channels-last, these are already
   * in the order torchvision's `permute_and_flatten` produces (location-major, then anchor, then
   * coordinate), so flattening them needs no transpose.
   */
  apply(features: readonly tf.Tensor4D[]): { objectness: tf.Tensor4D[]; bboxDeltas: tf.Tensor4D[] } {
    return tf.tidy(() => {
      const shared = features.map((map) => tf.relu(this.conv("conv.0.0", map)));
      return {
        objectness: shared.map((map) => this.conv("cls_logits", map)),
        bboxDeltas: shared.map((map) => this.conv("bbox_pred", map)),
      };
    });
  }

  dispose(): void {
    this.variables.forEach((variable) => variable.dispose());
  }
}

/** torchvision's per-mode counts (`dict(training=..., testing=...)`). */
export interface TrainTest {
  readonly training: number;
  readonly testing: number;
}

/** RegionProposalNetwork's arguments, as FasterRCNN passes them (`rpn_*`). */
export interface RPNSettings {
  readonly preNmsTopN: TrainTest;
  readonly postNmsTopN: TrainTest;
  readonly nmsThresh: number;
  readonly fgIouThresh: number;
  readonly bgIouThresh: number;
  readonly batchSizePerImage: number;
  readonly positiveFraction: number;
  readonly scoreThresh: number;
}

export type RPNLosses = {
  readonly lossObjectness: tf.Scalar;
  readonly lossRpnBoxReg: tf.Scalar;
};

/** The RPN's `min_size`: proposals narrower or shorter than this are dropped. */
const MIN_PROPOSAL_SIZE = 1e-3;

export class RegionProposalNetwork {
  readonly boxCoder = new BoxCoder(RPN_BOX_CODER_WEIGHTS);
  readonly proposalMatcher: Matcher;
  readonly fgBgSampler: BalancedPositiveNegativeSampler;

  constructor(
    readonly anchorGenerator: AnchorGenerator,
    readonly head: RPNHead,
    readonly settings: RPNSettings,
    /** Draws the sampler's choices; share one source across the model for reproducible runs. */
    readonly random: Random,
  ) {
    this.proposalMatcher = new Matcher(settings.fgIouThresh, settings.bgIouThresh, true);
    this.fgBgSampler = new BalancedPositiveNegativeSampler(settings.batchSizePerImage, settings.positiveFraction);
  }

  /** Keyed by torchvision's state-dict key relative to the RPN (`head.conv.0.0.weight`). */
  get variables(): Map<string, tf.Variable> {
    return new Map([...this.head.variables].map(([key, variable]) => [`head.${key}`, variable]));
  }

  /**
   * Proposals per image (`[P, 4]`, no gradient) and, given targets, the RPN losses. `training` picks
   * the pre/post-NMS counts.
   */
  forward(
    images: ImageList,
    features: readonly tf.Tensor4D[],
    training: boolean,
    targets?: readonly TargetTensors[],
  ): { proposals: tf.Tensor2D[]; losses: RPNLosses | undefined } {
    return tf.tidy(() => {
      const { objectness: objectnessMaps, bboxDeltas: deltaMaps } = this.head.apply(features);
      const paddedSize: Size2D = [images.tensors.shape[1], images.tensors.shape[2]];
      const gridSizes = features.map((map): Size2D => [map.shape[1], map.shape[2]]);
      const anchors = this.anchorGenerator.anchorsFor(paddedSize, gridSizes);
      const batch = features[0]!.shape[0];
      // concat_box_prediction_layers: per image, level after level, each level H, W, A.
      const objectness = tf.concat(objectnessMaps.map((map) => map.reshape([batch, -1])), 1) as tf.Tensor2D;
      const deltas = tf.concat(deltaMaps.map((map) => map.reshape([batch, -1, 4])), 1) as tf.Tensor3D;
      const anchorsPerLevel = objectnessMaps.map((map) => map.shape[1] * map.shape[2] * map.shape[3]);
      // torchvision selects proposals from `objectness.detach()` and `pred_bbox_deltas.detach()`.
      const proposals = this.filterProposals(
        detach(objectness),
        detach(deltas),
        anchors,
        images.imageSizes,
        anchorsPerLevel,
        training,
      );
      const losses = targets ? this.computeLoss(objectness, deltas, anchors, targets) : undefined;
      return { proposals, losses };
    });
  }

  /**
   * `filter_proposals`: per level the `pre_nms_top_n` best-scoring anchors, decoded, clipped to the
   * image, without boxes under `min_size` or scores under `score_thresh`, then NMS within each level
   * and the `post_nms_top_n` best.
   */
  private filterProposals(
    objectness: tf.Tensor2D,
    deltas: tf.Tensor3D,
    anchors: tf.Tensor2D,
    imageSizes: readonly Size2D[],
    anchorsPerLevel: readonly number[],
    training: boolean,
  ): tf.Tensor2D[] {
    const preNmsTopN = training ? this.settings.preNmsTopN.training : this.settings.preNmsTopN.testing;
    const postNmsTopN = training ? this.settings.postNmsTopN.training : this.settings.postNmsTopN.testing;
    const [batch, anchorCount] = objectness.shape;
    return tf.tidy(() => {
      // _get_top_n_idx: indices into each image's anchors, level by level.
      const chosen: tf.Tensor[] = [];
      const levelOfChosen: number[] = [];
      let offset = 0;
      anchorsPerLevel.forEach((count, level) => {
        const topN = Math.min(preNmsTopN, count);
        const { indices } = tf.topk(objectness.slice([0, offset], [batch, count]), topN);
        chosen.push(tf.add(indices, tf.scalar(offset, "int32")));
        levelOfChosen.push(...Array<number>(topN).fill(level));
        offset += count;
      });
      const perImage = tf.concat(chosen, 1) as tf.Tensor2D;
      const candidates = perImage.shape[1];
      const imageOffsets = tf.range(0, batch * anchorCount, anchorCount, "int32").reshape([batch, 1]);
      const flat = tf.add(perImage, imageOffsets).reshape([-1]);
      const scores = tf.sigmoid(tf.gather(objectness.reshape([-1]), flat)).reshape([batch, candidates]);
      const chosenDeltas = tf.gather(deltas.reshape([-1, 4]), flat) as tf.Tensor2D;
      const decoded = this.boxCoder.decodeSingle(chosenDeltas, tf.gather(anchors, perImage.reshape([-1])));
      // clip_boxes_to_image, each image to its own size.
      const limits = tf.tensor3d(imageSizes.flatMap(([height, width]) => [width, height, width, height]), [batch, 1, 4]);
      const boxes = tf.minimum(tf.maximum(decoded.reshape([batch, candidates, 4]), 0), limits) as tf.Tensor3D;
      const largeEnough = isLargeEnough(boxes.reshape([-1, 4]) as tf.Tensor2D, MIN_PROPOSAL_SIZE).reshape([batch, candidates]);
      const kept = tf.logicalAnd(largeEnough, tf.greaterEqual(scores, this.settings.scoreThresh));
      const rankedScores = tf.unstack(tf.where(kept, scores, DISCARDED_SCORE)) as tf.Tensor1D[];
      const levels = tf.tensor1d(levelOfChosen, "int32");
      return tf.unstack(boxes).map((imageBoxes, image) => {
        const keep = batchedNms(imageBoxes as tf.Tensor2D, rankedScores[image]!, levels, this.settings.nmsThresh, postNmsTopN, DISCARDED_SCORE);
        return tf.gather(imageBoxes, keep) as tf.Tensor2D;
      });
    });
  }

  /**
   * `assign_targets_to_anchors` + `compute_loss`: anchors matched at 0.7 / 0.3 (plus each ground
   * truth's best anchors), `batch_size_per_image` of them sampled per image; binary cross-entropy
   * over the sampled, smooth L1 (β = 1/9) over the sampled positives, both divided by the number sampled.
   */
  private computeLoss(objectness: tf.Tensor2D, deltas: tf.Tensor3D, anchors: tf.Tensor2D, targets: readonly TargetTensors[]): RPNLosses {
    const anchorCount = anchors.shape[0];
    const labels: tf.Tensor1D[] = [];
    const regressionTargets: tf.Tensor2D[] = [];
    for (const { boxes } of targets) {
      if (boxes.shape[0] === 0) {
        labels.push(tf.zeros([anchorCount]));
        regressionTargets.push(tf.zeros([anchorCount, 4]));
        continue;
      }
      const matched = this.proposalMatcher.match(boxIou(boxes, anchors));
      // 1 foreground, 0 background (below the low threshold), -1 between the thresholds (ignored).
      const foreground = tf.cast(tf.greaterEqual(matched, 0), "float32");
      labels.push(tf.sub(foreground, tf.cast(tf.equal(matched, Matcher.BETWEEN_THRESHOLDS), "float32")));
      const matchedBoxes = tf.gather(boxes, tf.maximum(matched, tf.scalar(0, "int32")));
      regressionTargets.push(this.boxCoder.encodeSingle(matchedBoxes, anchors));
    }
    const { positive, negative } = this.fgBgSampler.sample(labels, this.random);
    const positives = tf.concat(positive);
    const sampled = tf.logicalOr(positives, tf.concat(negative));
    const sampledCount = tf.sum(tf.cast(sampled, "float32"));
    const logits = objectness.reshape([-1]);
    // binary_cross_entropy_with_logits: softplus(x) - x·y.
    const crossEntropy = tf.sub(tf.softplus(logits), tf.mul(logits, tf.concat(labels)));
    const lossObjectness = tf.div(tf.sum(tf.where(sampled, crossEntropy, 0)), sampledCount) as tf.Scalar;
    const boxLoss = tf.sum(smoothL1(tf.sub(deltas.reshape([-1, 4]), tf.concat(regressionTargets)), 1 / 9), 1);
    const lossRpnBoxReg = tf.div(tf.sum(tf.where(positives, boxLoss, 0)), sampledCount) as tf.Scalar;
    return { lossObjectness, lossRpnBoxReg };
  }

  dispose(): void {
    this.head.dispose();
  }
}

/**
 * `tensor.detach()`: the same values with no gradient history. tfjs has no stop-gradient op, and its
 * tape refuses to differentiate through the top-k, comparisons and NMS that proposal selection runs
 * on these values; a second tensor on the same data, made outside any kernel, has no history (and
 * costs neither a copy nor a trip to the host).
 */
function detach<T extends tf.Tensor>(tensor: T): T {
  const engine = tf.engine();
  engine.backend.incRef(tensor.dataId);
  return engine.makeTensorFromDataId(tensor.dataId, tensor.shape, tensor.dtype) as T;
}

/** Score given to boxes that filtering removed: NMS, thresholded at it, never keeps them. */
export const DISCARDED_SCORE = -1;

