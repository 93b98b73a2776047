/**
 * A spec's anchors against its training boxes, computed with the parts training uses: the spec's
 * resize (`GeneralizedRCNNTransform`), feature-map sizes from the backbone's graph at each padded
 * image size, torchvision's `AnchorGenerator` cell anchors, float32 `box_iou`, the RPN Matcher's
 * rule (`match.ts`) and the RoI `LevelMapper`. Pure: boxes and image sizes in, numbers out.
 */
import type { DetectorAnalysis } from "../check/analysis.js";
import { anchorsLine, checkAnchorData, type AnchorDataReport, type LevelAnchorData, type RecallAt } from "../check/anchor-data.js";
import { padTo } from "../util/torchvision.js";
import { dataRules } from "../check/data-rules/index.js";
import type { Diagnostic } from "../check/diagnostic.js";
import { detectorSpec } from "../check/detector-spec.js";
import { trainingSubset, type Box, type DetectionDataset } from "../data/dataset.js";
import { modelInputSize, resizeBoxes } from "../data/transforms.js";
import { cellAnchors, setupScales, type LevelMapper, type Size2D } from "../detection/geometry.js";
import { inferTypes } from "../zoo/infer.js";
import { matchImage, type LevelGrid } from "./match.js";
import { atLeastStride, fitFinestLevels } from "./suggest.js";

/** One training image: its stored size and its (non-crowd) boxes in its own pixels. */
export interface AnnotatedImage {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly Box[];
}

/** An image as the model sees it: boxes after the resize (float32), and the padded size. */
interface ResizedImage {
  readonly boxes: Float32Array;
  /** After the resize, before padding (the RoI pooler's `image_shapes`). */
  readonly size: Size2D;
  readonly padded: Size2D;
}

interface Anchors {
  readonly sizes: readonly (readonly number[])[];
  readonly ratios: readonly number[];
}

/** What the Matcher does with every box of the data under one set of anchors. */
interface MatchSummary {
  readonly recall: RecallAt[];
  readonly lowQualityOnly: number;
  readonly unmatched: number;
  readonly bestBoxes: number[];
  readonly positiveAnchors: number[];
}

/** Grid sizes of every level (taps, then the pool level) at each padded image size, read from the backbone's graph. */
class LevelSizes {
  private readonly cache = new Map<string, Size2D[]>();

  constructor(private readonly detector: DetectorAnalysis) {}

  at(padded: Size2D): Size2D[] {
    const key = padded.join("x");
    let sizes = this.cache.get(key);
    if (sizes === undefined) {
      const types = inferTypes(this.detector.graph!, [padded[0], padded[1]]);
      sizes = this.detector.taps.map((tap): Size2D => {
        const [, , height = 1, width = 1] = types.get(tap.node!.name)!.shape;
        return [height, width];
      });
      const last = sizes.at(-1)!;
      // LastLevelMaxPool: max_pool2d(kernel 1, stride 2).
      const halve = (n: number) => Math.floor((n - 1) / 2) + 1;
      if (this.detector.levels.some((level) => level.extra)) sizes.push([halve(last[0]), halve(last[1])]);
      this.cache.set(key, sizes);
    }
    return sizes;
  }
}

function resizeImages(detector: DetectorAnalysis, images: readonly AnnotatedImage[]): ResizedImage[] {
  const { input } = detectorSpec(detector);
  return images
    .filter((image) => image.boxes.length > 0)
    .map((image) => {
      const size = modelInputSize(input, image);
      // The boxes training uploads as float32 after `transform.resize`.
      const boxes = Float32Array.from(resizeBoxes(image.boxes, image, size).flat());
      return { boxes, size: [size.height, size.width], padded: [padTo(size.height), padTo(size.width)] };
    });
}

function matchAll(images: readonly ResizedImage[], levelSizes: LevelSizes, anchors: Anchors, thresholds: readonly number[], high: number): MatchSummary {
  const cells = anchors.sizes.map((sizes) => cellAnchors(sizes, anchors.ratios));
  const levelCount = anchors.sizes.length;
  const recall = thresholds.map((iou) => ({ iou, boxes: 0 }));
  const summary = { recall, lowQualityOnly: 0, unmatched: 0, bestBoxes: new Array<number>(levelCount).fill(0), positiveAnchors: new Array<number>(levelCount).fill(0) };
  for (const image of images) {
    const grids = levelSizes.at(image.padded).map(([gridHeight, gridWidth], level): LevelGrid => ({
      cell: cells[level]!,
      gridHeight,
      gridWidth,
      // AnchorGenerator's strides: the padded image size over the grid size, per dimension.
      strideHeight: Math.floor(image.padded[0] / gridHeight),
      strideWidth: Math.floor(image.padded[1] / gridWidth),
    }));
    const match = matchImage(image.boxes, grids, { high });
    match.bestIou.forEach((best, box) => {
      for (const at of recall) if (best >= at.iou) at.boxes++;
      summary.bestBoxes[match.bestLevel[box]!]!++;
      let positives = 0;
      for (let level = 0; level < levelCount; level++) {
        const count = match.positives[box * levelCount + level]!;
        summary.positiveAnchors[level]! += count;
        positives += count;
      }
      if (positives === 0) summary.unmatched++;
      else if (best < high) summary.lowQualityOnly++;
    });
  }
  return summary;
}

/** The worst height / width mismatch at which a same-area anchor still reaches IoU `high`: 1 / (2√ρ − 1) = high. */
const ratioReachFactor = (high: number) => ((1 + 1 / high) / 2) ** 2;

export interface AnchorDataOptions {
  /** Names the data in the report (`synthetic train`). */
  readonly source: string;
}

export function analyzeAnchorData(detector: DetectorAnalysis, images: readonly AnnotatedImage[], options: AnchorDataOptions): AnchorDataReport {
  const spec = detectorSpec(detector);
  const high = spec.settings.rpn.fg_iou_thresh;
  const low = spec.settings.rpn.bg_iou_thresh;
  const thresholds = [...new Set([high, 0.5, low])].sort((a, b) => b - a);
  const resized = resizeImages(detector, images);
  const levelSizes = new LevelSizes(detector);
  const anchors: Anchors = spec.anchors;
  const current = matchAll(resized, levelSizes, anchors, thresholds, high);
  const shapes = boxShapes(resized);
  const roi = roiCounts(detector, resized, levelSizes);
  const allSizes = anchors.sizes.flat();
  const smallestAnchor = Math.min(...allSizes);
  const reach = ratioReachFactor(high);
  const ratioReach: [number, number] = [Math.min(...anchors.ratios) / reach, Math.max(...anchors.ratios) * reach];
  const boxScales = Float64Array.from(shapes.widths, (w, i) => Math.sqrt(w * shapes.heights[i]!));
  const elongated = shapes.widths.reduce((n, w, i) => (anchors.ratios.every((r) => mismatch(shapes.heights[i]! / w, r) > reach) ? n + 1 : n), 0);
  const levels = detector.levels.map((level, i): LevelAnchorData => ({
    name: level.name,
    stride: level.stride,
    sizes: anchors.sizes[i] ?? [],
    roiBoxes: roi.boxes[i] ?? 0,
    belowStride: roi.belowStride[i] ?? 0,
    bestBoxes: current.bestBoxes[i] ?? 0,
    positiveAnchors: current.positiveAnchors[i] ?? 0,
  }));
  const report: AnchorDataReport = {
    source: options.source,
    images: resized.length,
    boxes: boxScales.length,
    matcher: { high, low },
    resize: spec.input.kind === "exact" ? `${spec.input.height}×${spec.input.width}` : `min ${spec.input.min} max ${spec.input.max}`,
    anchors: { sizes: anchors.sizes, ratios: anchors.ratios, recall: current.recall },
    lowQualityOnly: current.lowQualityOnly,
    unmatched: current.unmatched,
    smallestAnchor,
    belowSmallestAnchor: boxScales.reduce((n, scale) => (scale < smallestAnchor ? n + 1 : n), 0),
    belowStride: roi.belowStride.reduce((a, b) => a + b, 0),
    ratioReach,
    elongated,
    levels,
    boxScales,
  };
  const suggestion = suggest(detector, resized, levelSizes, shapes, current, thresholds, high);
  return suggestion ? { ...report, suggestion } : report;
}

const mismatch = (a: number, b: number) => Math.max(a / b, b / a);

function boxShapes(images: readonly ResizedImage[]) {
  const widths: number[] = [];
  const heights: number[] = [];
  for (const { boxes } of images)
    for (let b = 0; b < boxes.length; b += 4) {
      widths.push(boxes[b + 2]! - boxes[b]!);
      heights.push(boxes[b + 3]! - boxes[b + 1]!);
    }
  return { widths: Float64Array.from(widths), heights: Float64Array.from(heights) };
}

/** Boxes per level by torchvision's RoI LevelMapper (over the RoI levels), and those below their level's stride. */
function roiCounts(detector: DetectorAnalysis, images: readonly ResizedImage[], levelSizes: LevelSizes) {
  const roiLevels = detector.roi.levels.map((name) => detector.levels.findIndex((level) => level.name === name));
  const boxes = new Array<number>(detector.levels.length).fill(0);
  const belowStride = new Array<number>(detector.levels.length).fill(0);
  const mappers = new Map<string, LevelMapper>();
  for (const image of images) {
    const key = `${image.padded.join("x")} ${image.size.join("x")}`;
    let mapper = mappers.get(key);
    if (mapper === undefined) {
      const sizes = levelSizes.at(image.padded);
      mapper = setupScales(roiLevels.map((level) => sizes[level]!), [image.size]).mapLevels;
      mappers.set(key, mapper);
    }
    for (let b = 0; b < image.boxes.length; b += 4) {
      const width = Math.fround(image.boxes[b + 2]! - image.boxes[b]!);
      const height = Math.fround(image.boxes[b + 3]! - image.boxes[b + 1]!);
      const level = roiLevels[mapper.levelOfArea(Math.fround(width * height))]!;
      boxes[level]!++;
      if (Math.min(width, height) < detector.levels[level]!.stride) belowStride[level]!++;
    }
  }
  return { boxes, belowStride };
}

/** Candidates are compared on at most this many images (evenly sampled); the chosen one is then measured on all. */
const MAX_CANDIDATE_IMAGES = 2000;

/**
 * The best of the fitted anchors, when it beats the spec's. Every split of the spec's anchors per
 * location into sizes × ratios is tried (9 = 3 × 3 = 9 × 1 = 1 × 9: the RPN head only sees the
 * product), fitted over all levels or only the finest ones, each also with sizes raised to their
 * level's stride.
 */
function suggest(
  detector: DetectorAnalysis,
  images: readonly ResizedImage[],
  levelSizes: LevelSizes,
  shapes: ReturnType<typeof boxShapes>,
  current: MatchSummary,
  thresholds: readonly number[],
  high: number,
): AnchorDataReport["suggestion"] {
  if (shapes.widths.length === 0) return undefined;
  const levels = detector.anchorSizes.length;
  const perLocation = (detector.anchorSizes[0]?.length ?? 1) * detector.anchorRatios.length;
  const strides = detector.levels.map((level) => level.stride);
  const step = Math.ceil(images.length / MAX_CANDIDATE_IMAGES);
  const sampled = images.filter((_, i) => i % step === 0);
  let best: (Anchors & { recall: RecallAt[] }) | undefined;
  for (let sizesPerLevel = 1; sizesPerLevel <= perLocation; sizesPerLevel++) {
    if (perLocation % sizesPerLevel !== 0) continue;
    const layout = { levels, sizesPerLevel, ratioCount: perLocation / sizesPerLevel };
    for (let used = levels; used >= 1; used--) {
      const fitted = fitFinestLevels(shapes, layout, used);
      for (const candidate of [fitted, atLeastStride(fitted, strides)]) {
        const { recall } = matchAll(sampled, levelSizes, candidate, thresholds, high);
        if (best === undefined || betterRecall(recall, best.recall)) best = { ...candidate, recall };
      }
    }
  }
  if (best === undefined) return undefined;
  const { recall } = step === 1 ? best : matchAll(images, levelSizes, best, thresholds, high);
  if (!betterRecall(recall, current.recall)) return undefined;
  return { sizes: best.sizes, ratios: best.ratios, recall, line: anchorsLine(best) };
}

/** More boxes at the first (highest) IoU, then at the next ones. */
function betterRecall(a: readonly RecallAt[], b: readonly RecallAt[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i]!.boxes !== b[i]!.boxes) return a[i]!.boxes > b[i]!.boxes;
  return false;
}

/** The images training iterates (those with a non-crowd box), with their non-crowd boxes. */
export function trainingImages(dataset: DetectionDataset): AnnotatedImage[] {
  return trainingSubset(dataset).samples.map((sample) => ({
    width: sample.width,
    height: sample.height,
    boxes: sample.boxes.filter((_, i) => !sample.iscrowd[i]),
  }));
}

export interface DataCheck {
  readonly report: AnchorDataReport;
  readonly diagnostics: readonly Diagnostic[];
}

/** The data rules' diagnostics for a checked detector and its training split. */
export function checkDetectorData(detector: DetectorAnalysis, train: DetectionDataset): DataCheck {
  const report = analyzeAnchorData(detector, trainingImages(train), { source: `${train.kind} ${train.split}` });
  return { report, diagnostics: checkAnchorData(detector, report, dataRules) };
}
