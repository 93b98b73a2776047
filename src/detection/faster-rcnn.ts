/**
 * torchvision's `FasterRCNN` (`models/detection/faster_rcnn.py`, `generalized_rcnn.py`) built from a
 * checked spec: backbone body (the zoo network up to the taps) → optional FPN → RPN →
 * MultiScaleRoIAlign → TwoMLPHead → FastRCNNPredictor, every setting taken from `spec.settings`.
 *
 * Feature maps are named as torchvision's backbones name them: `"0"`, `"1"`, … in tap order, and
 * `pool` for the FPN's extra level. Variables are keyed by the state-dict keys of the equivalent
 * torchvision model (`backbone.body.*`, `backbone.fpn.*`, `rpn.*`, `roi_heads.*`) and hold our layout;
 * `fromTorchLayout` / `toTorchLayout` convert a tensor of any key.
 */
import * as tf from "@tensorflow/tfjs";
import { padTo } from "../util/torchvision.js";
import type { DetectorSpec } from "../check/detector-spec.js";
import type { PartParameters } from "../check/summary.js";
import type { Box, RgbImage } from "../data/dataset.js";
import type { FloatImage } from "../data/transforms.js";
import { lowerBackbone, type LoweredBackbone } from "../lowering/backbone.js";
import { fromTorchLayout, shapeInTorchLayout, toTorchLayout, type WeightConverter, type WeightLayout } from "../lowering/layouts.js";
import type { BackboneGraph } from "../zoo/graph.js";
import { findBackbone } from "../zoo/index.js";
import { inferTypes, featureMap } from "../zoo/infer.js";
import { stages } from "../zoo/stages.js";
import { AnchorGenerator } from "./anchor-utils.js";
import { FeaturePyramidNetwork } from "./feature-pyramid.js";
import { MultiScaleRoIAlign } from "./poolers.js";
import { type Random, randomFromState } from "../util/random.js";
import { FastRCNNPredictor, RoIHeads, TwoMLPHead } from "./roi-heads.js";
import { RegionProposalNetwork, RPNHead, type TargetTensors } from "./rpn.js";
import { GeneralizedRCNNTransform } from "./transform.js";

export interface FasterRCNNOptions {
  /** Seeds initialisation and the samplers; default: the spec's `train seed`. */
  readonly seed?: number;
  /** The samplers' random source (default: seeded by `seed`); the trainer keeps its state in checkpoints. */
  readonly random?: Random;
  /**
   * Prepended to every tfjs variable name, which must be unique among live variables: two models
   * alive at once need different prefixes.
   */
  readonly namePrefix?: string;
}

/** One image's ground truth, in the pixels of the (resized) image given with it. */
export interface DetectionTarget {
  readonly boxes: readonly Box[];
  /** Parallel to `boxes`, each in 1..K. */
  readonly labels: readonly number[];
}

/** torchvision's training-mode output: the four losses, each a scalar. */
export type FasterRCNNLosses = {
  readonly loss_objectness: tf.Scalar;
  readonly loss_rpn_box_reg: tf.Scalar;
  readonly loss_classifier: tf.Scalar;
  readonly loss_box_reg: tf.Scalar;
};

/** torchvision's inference output for one image, in the original image's pixels, by decreasing score. */
export interface Detection {
  readonly boxes: Box[];
  readonly labels: number[];
  readonly scores: number[];
}

const count = (variables: ReadonlyMap<string, tf.Variable>, keys: Iterable<string> = variables.keys()) =>
  [...keys].reduce((sum, key) => sum + variables.get(key)!.size, 0);

export class FasterRCNN implements WeightConverter {
  constructor(
    readonly spec: DetectorSpec,
    readonly transform: GeneralizedRCNNTransform,
    readonly backbone: LoweredBackbone,
    readonly fpn: FeaturePyramidNetwork | null,
    readonly rpn: RegionProposalNetwork,
    readonly roiHeads: RoIHeads,
  ) {}

  /** Every variable (parameters and batch-norm buffers) by torchvision state-dict key. */
  variables(): Map<string, tf.Variable> {
    const prefixed = (prefix: string, variables: ReadonlyMap<string, tf.Variable>) =>
      [...variables].map(([key, variable]) => [prefix + key, variable] as const);
    return new Map([
      ...prefixed("backbone.body.", this.backbone.variables),
      ...prefixed("backbone.fpn.", this.fpn?.variables ?? new Map()),
      ...prefixed("rpn.", this.rpn.variables),
      ...prefixed("roi_heads.", this.roiHeads.variables),
    ]);
  }

  /** What an optimizer updates: the variables not frozen by `trainable N` or frozen batch norm. */
  trainableVariables(): tf.Variable[] {
    return [...this.variables().values()].filter((variable) => variable.trainable);
  }

  /**
   * Parameters per part as `detc check` reports them: every weight and bias that would train if
   * unfrozen (batch-norm running statistics excluded), equal to torchvision's `numel` sums.
   */
  parameterCounts(): PartParameters {
    const backboneParameters = this.backbone.entries.filter((entry) => entry.trainable).map((entry) => entry.key);
    const parts = {
      backbone: count(this.backbone.variables, backboneParameters),
      fpn: this.fpn ? count(this.fpn.variables) : 0,
      rpn: count(this.rpn.variables),
      roiHeads: count(this.roiHeads.variables),
    };
    return { ...parts, total: parts.backbone + parts.fpn + parts.rpn + parts.roiHeads };
  }

  /** The layout of a head's entry: convs and linears as `lowering/layouts.ts` lays them out. */
  private headLayout(key: string): WeightLayout {
    const variable = this.variables().get(key);
    if (variable === undefined) throw new Error(`${this.spec.name} has no state-dict entry \`${key}\``);
    if (!key.endsWith(".weight")) return { kind: "as_is" };
    if (key === "roi_heads.box_head.fc6.weight") {
      const { inChannels: channels, resolution } = this.roiHeads.boxHead;
      return { kind: "flattened_maps_linear", channels, height: resolution, width: resolution };
    }
    return variable.rank === 4 ? { kind: "conv" } : { kind: "linear" };
  }

  /** A backbone body's key goes to the backbone's converter (without its prefix), a head's to its layout. */
  private byLayout<T>(key: string, body: (bodyKey: string) => T, head: (layout: WeightLayout) => T): T {
    const prefix = "backbone.body.";
    return key.startsWith(prefix) ? body(key.slice(prefix.length)) : head(this.headLayout(key));
  }

  /** A torchvision tensor's values for variable `key`, in its layout. */
  fromTorchLayout(key: string, values: Float32Array, torchShape: readonly number[]): Float32Array {
    return this.byLayout(key, (bodyKey) => this.backbone.fromTorchLayout(bodyKey, values, torchShape), (layout) => fromTorchLayout(layout, values, torchShape));
  }

  toTorchLayout(key: string, tensor: tf.Tensor): tf.Tensor {
    return this.byLayout(key, (bodyKey) => this.backbone.toTorchLayout(bodyKey, tensor), (layout) => toTorchLayout(layout, tensor));
  }

  /** Variable `key`'s shape in torchvision's layout, without converting it. */
  torchShape(key: string): number[] {
    const shape = this.variables().get(key)?.shape;
    if (shape === undefined) throw new Error(`${this.spec.name} has no state-dict entry \`${key}\``);
    return this.byLayout(key, (bodyKey) => this.backbone.torchShape(bodyKey, shape), (layout) => shapeInTorchLayout(layout, shape));
  }

  /** `backbone(images.tensors)`: the named feature maps the RPN and RoI heads read. */
  features(images: tf.Tensor4D, training: boolean): Map<string, tf.Tensor4D> {
    const taps = this.backbone.apply(images, { training }) as tf.Tensor4D[];
    const named = new Map(taps.map((map, i) => [String(i), map]));
    return this.fpn ? this.fpn.apply(named) : named;
  }

  /**
   * Training-mode forward: the four losses for already-resized images (floats in [0, 1], e.g. from
   * `transform.resize` or the data pipeline) and their targets. Synchronous, so it can run inside
   * `tf.variableGrads` / `optimizer.minimize`; there, `tf.keep` the losses to read them afterwards.
   */
  computeLosses(images: readonly FloatImage[], targets: readonly DetectionTarget[]): FasterRCNNLosses {
    if (images.length !== targets.length) throw new Error(`${images.length} images but ${targets.length} targets`);
    return tf.tidy(() => {
      const imageList = this.transform.batch(images);
      const targetTensors: TargetTensors[] = targets.map(({ boxes, labels }) => ({
        boxes: tf.tensor2d(boxes.flat(), [boxes.length, 4]),
        labels: tf.tensor1d([...labels], "int32"),
      }));
      const features = this.features(imageList.tensors, true);
      const { proposals, losses } = this.rpn.forward(imageList, [...features.values()], true, targetTensors);
      const { lossClassifier, lossBoxReg } = this.roiHeads.computeLosses(features, proposals, imageList.imageSizes, targetTensors);
      return {
        loss_objectness: losses!.lossObjectness,
        loss_rpn_box_reg: losses!.lossRpnBoxReg,
        loss_classifier: lossClassifier,
        loss_box_reg: lossBoxReg,
      };
    });
  }

  /** Inference: detections per image, in the image's own pixels. */
  async predict(images: readonly RgbImage[]): Promise<Detection[]> {
    const resized = images.map((image) => this.transform.resize(image).image);
    const outputs = tf.tidy(() => {
      const imageList = this.transform.batch(resized);
      const features = this.features(imageList.tensors, false);
      const { proposals } = this.rpn.forward(imageList, [...features.values()], false);
      return this.roiHeads.detect(features, proposals, imageList.imageSizes);
    });
    try {
      return await Promise.all(
        outputs.map(async ({ boxes, scores, labels }, image) => ({
          boxes: this.transform.postprocess(
            (await boxes.array()).map((box): Box => [box[0]!, box[1]!, box[2]!, box[3]!]),
            resized[image]!,
            images[image]!,
          ),
          labels: await labels.array(),
          scores: await scores.array(),
        })),
      );
    } finally {
      tf.dispose(outputs.flatMap(({ boxes, scores, labels }) => [boxes, scores, labels]));
    }
  }

  dispose(): void {
    this.backbone.dispose();
    this.fpn?.dispose();
    this.rpn.dispose();
    this.roiHeads.dispose();
  }
}

/** torchvision's `trainable_layers` default: 3 with pretrained weights, every stage without. */
function trainableStages(spec: DetectorSpec, graph: BackboneGraph, taps: readonly string[]): number {
  if (spec.backbone.trainable !== undefined) return spec.backbone.trainable;
  return spec.backbone.weights !== undefined ? 3 : stages(graph, taps).length;
}

/** Channels of each tapped node, inferred (as the checker does) at the spec's padded input size. */
function tapChannels(spec: DetectorSpec, graph: BackboneGraph, taps: readonly string[]): number[] {
  const input = spec.input.kind === "exact" ? spec.input : { height: spec.input.min, width: spec.input.min };
  const types = inferTypes(graph, [padTo(input.height), padTo(input.width)]);
  return taps.map((tap) => {
    const map = featureMap(types.get(tap)!);
    if (!map) throw new Error(`\`${tap}\` is not a feature map`);
    return map.channels;
  });
}

/** The trainable Faster R-CNN a checked spec describes, freshly initialised as torchvision would. */
export function buildFasterRCNN(spec: DetectorSpec, options: FasterRCNNOptions = {}): FasterRCNN {
  const { rpn, box, train } = spec.settings;
  const seed = options.seed ?? train.seed;
  const namePrefix = options.namePrefix ?? "";
  const zooEntry = findBackbone(spec.backbone.name);
  if (!zooEntry) throw new Error(`unknown backbone \`${spec.backbone.name}\``);
  const graph = zooEntry.graph();
  const taps = spec.taps.map((tap) => tap.node);

  const backbone = lowerBackbone(graph, {
    taps,
    trainableStages: trainableStages(spec, graph, taps),
    frozenBatchNorm: train.frozen_batch_norm,
    recomputeStages: train.recompute_stages,
    ...(spec.backbone.batchNormEps !== undefined && { batchNormEps: spec.backbone.batchNormEps }),
    seed,
    namePrefix: `${namePrefix}backbone.body.`,
  });
  const inChannels = tapChannels(spec, graph, taps);
  const fpnPrefix = `${namePrefix}backbone.fpn.`;
  const fpn = spec.fpn && new FeaturePyramidNetwork(inChannels, spec.fpn.channels, spec.fpn.extraMaxPool, seed, fpnPrefix);
  const channels = spec.fpn?.channels ?? inChannels[0]!;

  const anchorGenerator = new AnchorGenerator(spec.anchors.sizes, spec.anchors.ratios);
  const random = options.random ?? randomFromState(seed);
  const regionProposalNetwork = new RegionProposalNetwork(
    anchorGenerator,
    new RPNHead(channels, anchorGenerator.numAnchorsPerLocation()[0]!, seed, `${namePrefix}rpn.head.`),
    {
      preNmsTopN: { training: rpn.pre_nms_top_n_train, testing: rpn.pre_nms_top_n_test },
      postNmsTopN: { training: rpn.post_nms_top_n_train, testing: rpn.post_nms_top_n_test },
      nmsThresh: rpn.nms_thresh,
      fgIouThresh: rpn.fg_iou_thresh,
      bgIouThresh: rpn.bg_iou_thresh,
      batchSizePerImage: rpn.batch_size_per_image,
      positiveFraction: rpn.positive_fraction,
      scoreThresh: rpn.score_thresh,
    },
    random,
  );

  // The checker allows only tapped levels here (never `pool`); maps are named by tap index.
  const levelName = (level: string) => String(spec.taps.findIndex((tap) => tap.name === level));
  const resolution = spec.roi.outputSize;
  const representationSize = box.representation_size;
  const roiHeads = new RoIHeads(
    new MultiScaleRoIAlign(spec.roi.levels.map(levelName), resolution, spec.roi.samplingRatio),
    new TwoMLPHead(channels, resolution, representationSize, seed, `${namePrefix}roi_heads.box_head.`),
    new FastRCNNPredictor(representationSize, spec.classes.count, seed, `${namePrefix}roi_heads.box_predictor.`),
    {
      scoreThresh: box.score_thresh,
      nmsThresh: box.nms_thresh,
      detectionsPerImg: box.detections_per_img,
      fgIouThresh: box.fg_iou_thresh,
      bgIouThresh: box.bg_iou_thresh,
      batchSizePerImage: box.batch_size_per_image,
      positiveFraction: box.positive_fraction,
    },
    random,
  );
  return new FasterRCNN(spec, new GeneralizedRCNNTransform(spec.input), backbone, fpn, regionProposalNetwork, roiHeads);
}
