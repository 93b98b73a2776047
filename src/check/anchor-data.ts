/**
 * The spec checked against its data: what the anchors do with the training boxes, as numbers the
 * data rules (`data-rules/`) read and report on. Computing them reads a dataset, so it happens at
 * the edge (`src/anchors/`); the rules stay pure, taking the finished report.
 */
import type { DetectorAnalysis } from "./analysis.js";
import type { Diagnostic } from "./diagnostic.js";
import type { Report } from "./rule.js";

/** How many boxes reach a best-anchor IoU. */
export interface RecallAt {
  readonly iou: number;
  readonly boxes: number;
}

export interface LevelAnchorData {
  readonly name: string;
  readonly stride: number;
  readonly sizes: readonly number[];
  /** Boxes torchvision's RoI level mapper pools from this level (0 for the RPN-only pool level). */
  readonly roiBoxes: number;
  /** Of those, boxes whose shorter side is below the level's stride. */
  readonly belowStride: number;
  /** Boxes whose best anchor is on this level. */
  readonly bestBoxes: number;
  /** Anchors of this level the RPN's Matcher makes positive, over all images. */
  readonly positiveAnchors: number;
}

export interface AnchorFit {
  readonly sizes: readonly (readonly number[])[];
  readonly ratios: readonly number[];
  /** Boxes whose best anchor reaches each IoU of `AnchorDataReport.recall`, in the same order. */
  readonly recall: readonly RecallAt[];
}

export interface AnchorDataReport {
  /** Where the boxes come from: `synthetic train`, `coco train`, … */
  readonly source: string;
  readonly images: number;
  readonly boxes: number;
  /** The RPN Matcher's thresholds (`rpn fg_iou_thresh`, `bg_iou_thresh`). */
  readonly matcher: { readonly high: number; readonly low: number };
  /** How the images were resized: `800×800`, `min 800 max 1333`. */
  readonly resize: string;
  readonly anchors: AnchorFit;
  /** Boxes below the matcher's `high` that still get a positive anchor, through the low-quality rule only. */
  readonly lowQualityOnly: number;
  /** Boxes that get no positive anchor at all (their best anchors went to a neighbour with a higher IoU). */
  readonly unmatched: number;
  /** The smallest anchor size, and how many boxes (√area after resizing) are below it. */
  readonly smallestAnchor: number;
  readonly belowSmallestAnchor: number;
  /** Boxes whose shorter side is below the stride of the level the RoI mapper sends them to. */
  readonly belowStride: number;
  /** Height / width ratios no anchor ratio can reach `high` IoU with, at any size, and how many boxes have them. */
  readonly ratioReach: readonly [number, number];
  readonly elongated: number;
  readonly levels: readonly LevelAnchorData[];
  /** √area of every box after resizing, for the size plot. */
  readonly boxScales: Float64Array;
  /** Anchors fitted to the data (same levels and anchors per location), when they beat the spec's. */
  readonly suggestion?: AnchorFit & { readonly line: string };
}

export interface DataRuleContext {
  readonly detector: DetectorAnalysis;
  readonly data: AnchorDataReport;
  report(diagnostic: Report): void;
}

/** A check of the spec against its data: like `Rule`, but with the data report. */
export interface DataRule {
  readonly code: string;
  readonly name: string;
  readonly severity: Diagnostic["severity"];
  check(context: DataRuleContext): void;
}

export const share = (count: number, total: number) => (total === 0 ? 0 : count / total);
export const percent = (count: number, total: number) => `${Math.round(100 * share(count, total))}%`;

const formatRatio = (ratio: number) => (Number.isInteger(ratio) ? ratio.toFixed(1) : String(ratio));

/** The `anchors` statement for `anchors`: flat sizes for one size per level, groups otherwise. */
export function anchorsLine(anchors: { readonly sizes: readonly (readonly number[])[]; readonly ratios: readonly number[] }): string {
  const flat = anchors.sizes.every((group) => group.length === 1);
  const sizes = flat ? anchors.sizes.map((group) => group[0]).join(", ") : anchors.sizes.map((group) => `(${group.join(", ")})`).join(", ");
  return `anchors sizes ${sizes} ratios ${anchors.ratios.map(formatRatio).join(", ")}`;
}

/** Diagnostics of `rules` for one checked detector and its data report, in source order. */
export function checkAnchorData(detector: DetectorAnalysis, data: AnchorDataReport, rules: readonly DataRule[]): Diagnostic[] {
  const diagnostics: Diagnostic[] = [];
  for (const rule of rules)
    rule.check({
      detector,
      data,
      report: ({ severity, ...rest }) => diagnostics.push({ severity: severity ?? rule.severity, code: rule.code, ...rest }),
    });
  return diagnostics.sort((a, b) => a.primary.span.start.offset - b.primary.span.start.offset);
}
