/**
 * The spec against its data, for `detc check --data` and `detc run`: reads each checked detector's
 * training annotations (the I/O), runs the pure anchor analysis and data rules, and renders the
 * result as a table or JSON.
 */
import { dirname } from "node:path";
import Table from "cli-table3";
import type { DataCheck } from "../anchors/analyze.js";
import type { AnchorDataReport } from "../check/anchor-data.js";
import { percent, share } from "../check/anchor-data.js";
import type { CheckResult } from "../check/index.js";
import { STDIN } from "./io.js";
import type { Colors } from "./style.js";
import { thousands } from "./style.js";

/** Each error-free detector's data check, by detector name; datasets are read relative to the spec's folder. */
export async function checkData(path: string, result: CheckResult): Promise<Map<string, DataCheck>> {
  const { loadSpecDatasets } = await import("../train/datasets.js");
  const { checkDetectorData } = await import("../anchors/analyze.js");
  const checks = new Map<string, DataCheck>();
  for (const detector of result.detectors) {
    const analysis = result.analyses.find((a) => a.name === detector.name);
    if (analysis === undefined) continue;
    const datasets = await loadSpecDatasets(detector.spec, path === STDIN ? "." : dirname(path));
    checks.set(detector.name, checkDetectorData(analysis, datasets.train));
  }
  return checks;
}

const sizesText = (sizes: readonly number[]) => sizes.join(", ");

export function renderAnchorData(report: AnchorDataReport, c: Colors): string {
  const table = new Table({
    head: ["level", "stride", "anchor sizes", "RoI boxes", "< stride", "best anchor here", "positive anchors"],
    style: { head: c.isColorSupported ? ["cyan"] : [], border: [], compact: true },
    chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
  });
  for (const level of report.levels)
    table.push([level.name, level.stride, sizesText(level.sizes), thousands(level.roiBoxes), thousands(level.belowStride), thousands(level.bestBoxes), thousands(level.positiveAnchors)]);
  const n = report.boxes;
  const recall = report.anchors.recall.map((at) => `≥ ${at.iou} ${c.bold(percent(at.boxes, n))}`).join(" · ");
  const lines = [
    `${c.bold("anchors against the data")}: ${thousands(report.images)} images, ${thousands(n)} boxes of ${report.source}, resized to ${report.resize}`,
    table.toString(),
    `boxes whose best anchor reaches IoU ${recall}`,
    `positive only through the low-quality rule ${percent(report.lowQualityOnly, n)} · no positive anchor ${percent(report.unmatched, n)} · ` +
      `under the smallest anchor (${report.smallestAnchor} px) ${percent(report.belowSmallestAnchor, n)} · beyond the ratios ${percent(report.elongated, n)}`,
  ];
  const suggestion = report.suggestion;
  if (suggestion) {
    const fitted = suggestion.recall.map((at) => `≥ ${at.iou} ${percent(at.boxes, n)}`).join(" · ");
    lines.push(`fitted to the data (same anchors per location): ${c.bold(suggestion.line)}`, `  reaches ${fitted}`);
  } else lines.push("no fitted anchors reach IoU ≥ " + `${report.anchors.recall[0]?.iou ?? ""} for more boxes than these`);
  return lines.join("\n");
}

const recallJson = (recall: AnchorDataReport["anchors"]["recall"], boxes: number) =>
  recall.map((at) => ({ iou: at.iou, boxes: at.boxes, share: share(at.boxes, boxes) }));

/** The `data` field of a detector in `detc check --json` (specs/check-output.schema.json). */
export function anchorDataJson(report: AnchorDataReport) {
  const n = report.boxes;
  return {
    source: report.source,
    images: report.images,
    boxes: n,
    resize: report.resize,
    matcher: report.matcher,
    anchors: { sizes: report.anchors.sizes, ratios: report.anchors.ratios },
    recall: recallJson(report.anchors.recall, n),
    lowQualityOnly: report.lowQualityOnly,
    unmatched: report.unmatched,
    smallestAnchor: report.smallestAnchor,
    belowSmallestAnchor: report.belowSmallestAnchor,
    belowStride: report.belowStride,
    ratioReach: report.ratioReach,
    elongated: report.elongated,
    levels: report.levels,
    suggestion: report.suggestion
      ? { line: report.suggestion.line, sizes: report.suggestion.sizes, ratios: report.suggestion.ratios, recall: recallJson(report.suggestion.recall, n) }
      : null,
  };
}
