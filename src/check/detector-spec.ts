/**
 * The JSON form of a checked detector: every name resolved and every default filled in. It is
 * what later stages (lowering, emit, diagrams) consume, and its schema is specs/detector.schema.json.
 */
import type { DetectorAnalysis } from "./analysis.js";
import type { Settings } from "./settings.js";
import { ownBatchNormEps } from "../zoo/graph.js";

export interface DetectorSpec {
  readonly name: string;
  readonly backbone: {
    readonly name: string;
    readonly weights?: string;
    readonly trainable?: number;
    /** Every batch norm's eps: as written, else the network's own; absent for a network without batch norm. */
    readonly batchNormEps?: number;
  };
  /** Taps as written, with the torchvision node each resolves to. */
  readonly taps: readonly { readonly name: string; readonly node: string }[];
  readonly fpn: { readonly channels: number; readonly extraMaxPool: boolean } | null;
  readonly anchors: { readonly sizes: readonly (readonly number[])[]; readonly ratios: readonly number[] };
  readonly roi: { readonly outputSize: number; readonly samplingRatio: number; readonly levels: readonly string[] };
  readonly classes: { readonly count: number; readonly names?: readonly string[] };
  readonly input:
    | { readonly kind: "resize"; readonly min: number; readonly max: number }
    | { readonly kind: "exact"; readonly height: number; readonly width: number };
  readonly dataset:
    | { readonly format: "synthetic" }
    | { readonly format: "coco"; readonly train: CocoSplit; readonly val?: CocoSplit }
    | { readonly format: "voc"; readonly root: string; readonly train: string; readonly val: string };
  readonly settings: Settings;
}

interface CocoSplit {
  readonly annotations: string;
  readonly images: string;
}

function dataset(analysis: DetectorAnalysis): DetectorSpec["dataset"] {
  const statement = analysis.statements.dataset;
  const split = (name: string) => statement?.splits.find((s) => s.split.value === name);
  switch (statement?.format?.value) {
    case "coco": {
      const coco = (name: string): CocoSplit | undefined => {
        const s = split(name);
        return s?.source && s.images ? { annotations: s.source.value, images: s.images.value } : undefined;
      };
      const val = coco("val");
      return { format: "coco", train: coco("train")!, ...(val && { val }) };
    }
    case "voc":
      return {
        format: "voc",
        root: statement.root!.value,
        train: split("train")?.source?.value ?? "trainval",
        val: split("val")?.source?.value ?? "test",
      };
    default:
      return { format: "synthetic" };
  }
}

/** Only for detectors the checker passed without errors. */
export function detectorSpec(analysis: DetectorAnalysis): DetectorSpec {
  const backbone = analysis.statements.backbone!;
  const classes = analysis.statements.classes!;
  const input = analysis.input;
  const batchNormEps = analysis.graph && ownBatchNormEps(analysis.graph) !== undefined ? (backbone.batchNormEps?.value ?? ownBatchNormEps(analysis.graph)) : undefined;
  return {
    name: analysis.name,
    backbone: {
      name: backbone.name!.value,
      ...(backbone.weights && { weights: backbone.weights.value }),
      ...(backbone.trainable !== undefined && { trainable: backbone.trainable.value }),
      ...(batchNormEps !== undefined && { batchNormEps }),
    },
    taps: analysis.taps.map((t) => ({ name: t.id.value, node: t.node!.name })),
    fpn:
      analysis.fpnChannels === undefined
        ? null
        : { channels: analysis.fpnChannels, extraMaxPool: analysis.statements.fpn?.extra !== undefined },
    anchors: { sizes: analysis.anchorSizes, ratios: analysis.anchorRatios },
    roi: analysis.roi,
    classes: { count: analysis.numClasses!, ...(classes.names && { names: classes.names.map((n) => n.value) }) },
    input:
      input.form === "exact"
        ? { kind: "exact", height: input.height, width: input.width }
        : { kind: "resize", min: input.min!, max: input.max! },
    dataset: dataset(analysis),
    settings: analysis.settings,
  };
}
