/**
 * The numbers a user would otherwise print the model for: each feature level's type, anchors per
 * location, and parameter counts per part, equal to torchvision's FasterRCNN built the seed
 * tutorial's way (create_feature_extractor body, FeaturePyramidNetwork, RPNHead, TwoMLPHead,
 * FastRCNNPredictor).
 */
import { ancestors, countParameters } from "../zoo/graph.js";
import type { DetectorAnalysis, FeatureLevel } from "./analysis.js";
import { detectorSpec, type DetectorSpec } from "./detector-spec.js";

export interface PartParameters {
  readonly backbone: number;
  readonly fpn: number;
  readonly rpn: number;
  readonly roiHeads: number;
  readonly total: number;
}

export interface DetectorSummary {
  readonly name: string;
  readonly backbone: string;
  readonly input: { readonly height: number; readonly width: number };
  readonly levels: readonly FeatureLevel[];
  readonly anchorsPerLocation: readonly number[];
  readonly parameters: PartParameters;
  readonly spec: DetectorSpec;
}

const conv = (inChannels: number, outChannels: number, kernel: number) =>
  inChannels * outChannels * kernel * kernel + outChannels;
const linear = (inFeatures: number, outFeatures: number) => inFeatures * outFeatures + outFeatures;

/** Only for detectors without errors: every number below comes from a resolved analysis. */
export function summarize(detector: DetectorAnalysis): DetectorSummary {
  const { graph, levels, headChannels, numClasses } = detector;
  const taps = detector.taps.map((t) => t.node!.name);
  const channels = headChannels!;
  const anchorsPerLocation = detector.anchorSizes.map((sizes) => sizes.length * detector.anchorRatios.length);
  const anchors = anchorsPerLocation[0]!;
  const backbone = countParameters(ancestors(graph!, taps));
  const fpn =
    detector.fpnChannels === undefined
      ? 0
      : levels.filter((level) => !level.extra).reduce((sum, level) => sum + conv(level.channels, channels, 1) + conv(channels, channels, 3), 0);
  // RPNHead: a shared 3×3 conv, then objectness (A) and box deltas (4A) as 1×1 convs.
  const rpn = conv(channels, channels, 3) + conv(channels, anchors, 1) + conv(channels, 4 * anchors, 1);
  const resolution = detector.roi.outputSize;
  const hidden = detector.settings.box.representation_size;
  const roiHeads =
    linear(channels * resolution * resolution, hidden) +
    linear(hidden, hidden) +
    linear(hidden, numClasses!) +
    linear(hidden, 4 * numClasses!);
  return {
    name: detector.name,
    backbone: detector.backbone!.name,
    input: { height: detector.input.paddedHeight, width: detector.input.paddedWidth },
    levels,
    anchorsPerLocation,
    parameters: { backbone, fpn, rpn, roiHeads, total: backbone + fpn + rpn + roiHeads },
    spec: detectorSpec(detector),
  };
}
