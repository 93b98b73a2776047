/** `detc eval`: COCO mAP (and VOC AP50) of a checkpoint on the spec's validation data, or of a results file. */
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { readText, requireFile, UsageError, writeJson } from "../io.js";
import { loadSpec } from "../spec.js";
import { colors } from "../style.js";
import { ALLOW_PARTIAL_OPTION } from "../weights-options.js";
import { say } from "../output.js";

const STATS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"] as const;
const LABELS: Record<(typeof STATS)[number], string> = {
  AP: "AP @[IoU=0.50:0.95 | area=all | maxDets=100]",
  AP50: "AP @[IoU=0.50 | area=all | maxDets=100]",
  AP75: "AP @[IoU=0.75 | area=all | maxDets=100]",
  APs: "AP @[IoU=0.50:0.95 | area=small | maxDets=100]",
  APm: "AP @[IoU=0.50:0.95 | area=medium | maxDets=100]",
  APl: "AP @[IoU=0.50:0.95 | area=large | maxDets=100]",
  AR1: "AR @[IoU=0.50:0.95 | area=all | maxDets=1]",
  AR10: "AR @[IoU=0.50:0.95 | area=all | maxDets=10]",
  AR100: "AR @[IoU=0.50:0.95 | area=all | maxDets=100]",
  ARs: "AR @[IoU=0.50:0.95 | area=small | maxDets=100]",
  ARm: "AR @[IoU=0.50:0.95 | area=medium | maxDets=100]",
  ARl: "AR @[IoU=0.50:0.95 | area=large | maxDets=100]",
};

function printStats(stats: Record<string, number>, extra: string): void {
  const c = colors(process.stdout);
  for (const name of STATS) process.stdout.write(` ${LABELS[name].padEnd(48)} = ${c.bold(stats[name]!.toFixed(3))}\n`);
  if (extra) process.stdout.write(extra + "\n");
}

interface EvalOptions {
  weights?: string;
  init?: string;
  allowPartial?: boolean;
  annotations?: string;
  detections?: string;
  detector?: string;
  backend: string;
  json?: boolean;
}

export function registerEval(program: Command): void {
  program
    .command("eval")
    .summary("COCO mAP and VOC AP50 of a checkpoint, or of a COCO results file")
    .description(
      "With a spec and --weights: run the detector on the spec's validation split and report COCO's " +
        "12 summary numbers (computed exactly as pycocotools does) and Pascal VOC AP@0.5. " +
        "With --annotations and --detections: score a COCO results file, no model needed.",
    )
    .argument("[file]", "a .det spec")
    .option("--weights <checkpoint>", "a checkpoint written by `detc run`")
    .option("--init <file>", "instead of --weights: a torchvision Faster R-CNN state dict (.pth or .safetensors)")
    .option(...ALLOW_PARTIAL_OPTION)
    .option("--annotations <gt.json>", "COCO ground truth (with --detections)")
    .option("--detections <dt.json>", "COCO results: [{image_id, category_id, bbox, score}]")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .option("--json", 'machine-readable output: {"AP","AP50","AP75","APs","APm","APl","AR1","AR10","AR100","ARs","ARm","ARl"}')
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc eval examples/quickstart.det --weights runs/quickstart/checkpoint.safetensors\n  $ detc eval --annotations instances_val.json --detections results.json --json",
    )
    .action(async (file: string | undefined, options: EvalOptions) => {
      if (options.annotations || options.detections) {
        if (!options.annotations || !options.detections) throw new UsageError("--annotations and --detections go together");
        const { CocoResults, evaluateResults, loadGroundTruth } = await import("../../eval/coco-eval.js");
        const { forEachJsonArrayElement, parseJsonFile } = await import("../../data/json.js");
        const cocoGt = loadGroundTruth(parseJsonFile(readText(options.annotations), options.annotations) as never);
        // Detections stream into columns, one parsed object at a time.
        const cocoDt = new CocoResults(cocoGt);
        forEachJsonArrayElement(readText(options.detections), options.detections, (detection, index) => cocoDt.add(detection, index));
        const stats = evaluateResults(cocoDt);
        if (options.json) return writeJson(stats);
        return printStats({ ...stats }, "");
      }
      if (!file || (options.weights === undefined) === (options.init === undefined))
        throw new UsageError("give a spec and one of --weights or --init, or --annotations and --detections");
      requireFile(options.weights ?? options.init!, options.weights ? "--weights" : "--init");
      const { spec, dir } = loadSpec(file, options.detector);
      await startEngine(options.backend, options.json === true);
      const model = await loadModel(spec, options.weights, { specDir: dir, init: options.init, allowPartial: options.allowPartial });
      const { exifNotices, loadSpecDatasets } = await import("../../train/datasets.js");
      const { evaluateModel } = await import("../../train/evaluate.js");
      const { val } = await loadSpecDatasets(spec, dir);
      for (const notice of exifNotices(val)) say(`note: ${notice}`);
      const result = await evaluateModel(model, val, spec.settings.train.batch_size);
      model.dispose();
      const { VOC_AP50, ...coco } = result;
      if (options.json) return writeJson({ ...coco, VOC_AP50 });
      printStats({ ...coco }, ` VOC AP @[IoU=0.50] (all-point)                    = ${VOC_AP50.toFixed(3)}`);
    });
}

/**
 * A model with a checkpoint's weights (it must have been written for this spec), or without one,
 * initialised from the spec's backbone weights and `--init`'s detector weights (reports on stderr).
 */
export async function loadModel(
  spec: import("../../check/detector-spec.js").DetectorSpec,
  weights: string | undefined,
  initial: { specDir: string; init?: string; allowPartial?: boolean } = { specDir: "." },
) {
  const { buildFasterRCNN } = await import("../../detection/faster-rcnn.js");
  const { loadWeights } = await import("../../train/detector-weights.js");
  const { formatWeightsReport } = await import("../../weights/load-weights.js");
  const model = buildFasterRCNN(spec);
  try {
    for (const report of loadWeights(model, { ...initial, weights })) say(formatWeightsReport(report));
  } catch (error) {
    model.dispose();
    throw error;
  }
  return model;
}
