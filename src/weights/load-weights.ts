/**
 * Initialising a detector from torchvision weights, like `load_state_dict(strict=False)` but with
 * a readable account: what loaded, what the file lacks, what the model lacks, and shapes that
 * disagree (both shapes), grouped by part. Two kinds of file:
 *
 * - a classification network's (`backbone NAME weights "FILE"`): keys such as `layer1.0.conv1.weight`
 *   go into `backbone.body.*`; the classifier and layers past the last tap are ignored, as
 *   torchvision's `IntermediateLayerGetter` drops them;
 * - a whole Faster R-CNN's (`--init FILE`): keys as they are; a box predictor for another class count
 *   is left freshly initialised, as torchvision's fine-tuning tutorial replaces it.
 *
 * A file of which nothing fits is an error: it was made for another network.
 */
import { resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { FasterRCNN } from "../detection/faster-rcnn.js";
import { InputError } from "../util/input-error.js";
import type { NamedTensor } from "./safetensors.js";
import { detcKey } from "./torchvision-keys.js";
import { float32Values, int32Values, readStateDict, type StateDict } from "./state-dict.js";

export interface ShapeMismatch {
  readonly key: string;
  readonly fileShape: readonly number[];
  readonly modelShape: readonly number[];
}

export interface WeightsReport {
  readonly file: string;
  readonly kind: "backbone" | "detector";
  /** Model keys filled from the file. */
  readonly loaded: readonly string[];
  /** Model keys the file lacks (left as initialised). */
  readonly missing: readonly string[];
  /** File keys the model has no variable for. */
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  /** Backbone files: the classifier's and untapped layers' keys, dropped on purpose. */
  readonly ignored: readonly string[];
  /** Detector files made for another class count: their box predictor's classes and ours. */
  readonly replacedPredictor?: { readonly fileClasses: number; readonly modelClasses: number };
}

const BODY = "backbone.body.";
const PREDICTOR = "roi_heads.box_predictor.";
const PARTS = ["backbone.body.", "backbone.fpn.", "rpn.", "roi_heads."];

/** Our variable's shape in torchvision's layout, to compare with a file's. */
function torchShape(model: FasterRCNN, key: string, variable: tf.Variable): number[] {
  return tf.tidy(() => model.toTorchLayout(key, variable).shape);
}

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((extent, i) => extent === b[i]);

function assign(model: FasterRCNN, key: string, variable: tf.Variable, tensor: NamedTensor): void {
  tf.tidy(() => {
    const shape = [...tensor.shape];
    if (variable.dtype === "int32") variable.assign(tf.tensor(int32Values(tensor), shape, "int32"));
    else variable.assign(model.fromTorchLayout(key, tf.tensor(float32Values(tensor), shape, "float32")));
  });
}

/** Fills `model` from `candidates` (model key → file tensor), returning what fit. */
function fill(model: FasterRCNN, candidates: ReadonlyMap<string, NamedTensor>, scope: (key: string) => boolean) {
  const variables = model.variables();
  const loaded: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const [key, tensor] of candidates) {
    const variable = variables.get(key)!;
    const modelShape = torchShape(model, key, variable);
    if (!sameShape(modelShape, tensor.shape)) {
      mismatched.push({ key, fileShape: tensor.shape, modelShape });
      continue;
    }
    assign(model, key, variable, tensor);
    loaded.push(key);
  }
  // FrozenBatchNorm2d has no `num_batches_tracked` and its loader drops one: a counter, never missed.
  const missing = [...variables.keys()].filter((key) => scope(key) && !candidates.has(key) && !key.endsWith(".num_batches_tracked"));
  return { loaded, mismatched, missing };
}

function nothingFits(file: string, stateDict: StateDict, what: string): never {
  const examples = [...stateDict.keys()].slice(0, 3).map((key) => `\`${key}\``).join(", ");
  throw new InputError(`${file}: none of its ${stateDict.size} tensors fit ${what} (its keys look like ${examples || "nothing"}); is it a weights file for another network?`);
}

/** A classification network's weights into the backbone body. */
export function loadBackboneWeights(model: FasterRCNN, file: string): WeightsReport {
  const stateDict = readStateDict(file);
  const variables = model.variables();
  const candidates = new Map<string, NamedTensor>();
  const ignored: string[] = [];
  for (const [fileKey, tensor] of stateDict) {
    // A detector's file works too: its body keys are the classification network's, prefixed.
    const key = BODY + (fileKey.startsWith(BODY) ? fileKey.slice(BODY.length) : fileKey);
    if (variables.has(key)) candidates.set(key, tensor);
    else ignored.push(fileKey);
  }
  const { loaded, mismatched, missing } = fill(model, candidates, (key) => key.startsWith(BODY));
  if (loaded.length === 0) nothingFits(file, stateDict, `backbone ${model.spec.backbone.name}`);
  return { file, kind: "backbone", loaded, missing, unexpected: [], mismatched, ignored };
}

/** A whole torchvision Faster R-CNN's weights. */
export function loadDetectorWeights(model: FasterRCNN, file: string): WeightsReport {
  const stateDict = new Map([...readStateDict(file)].map(([key, tensor]) => [detcKey(key), tensor]));
  const variables = model.variables();
  const unexpected = [...stateDict.keys()].filter((key) => !variables.has(key));
  const predictorMismatch = [...stateDict].some(
    ([key, tensor]) => key.startsWith(PREDICTOR) && variables.has(key) && !sameShape(torchShape(model, key, variables.get(key)!), tensor.shape),
  );
  const candidates = new Map(
    [...stateDict].filter(([key]) => variables.has(key) && !(predictorMismatch && key.startsWith(PREDICTOR))),
  );
  const { loaded, mismatched, missing } = fill(model, candidates, (key) => !(predictorMismatch && key.startsWith(PREDICTOR)));
  if (loaded.length === 0) nothingFits(file, stateDict, `detector ${model.spec.name} (backbone ${model.spec.backbone.name})`);
  const fileClasses = stateDict.get(`${PREDICTOR}cls_score.bias`)?.shape[0];
  const replacedPredictor = predictorMismatch && fileClasses !== undefined ? { fileClasses, modelClasses: model.spec.classes.count } : undefined;
  return { file, kind: "detector", loaded, missing, unexpected, mismatched, ignored: [], ...(replacedPredictor && { replacedPredictor }) };
}

/**
 * The spec's backbone weights (a path relative to the spec's folder), then a whole detector's
 * (`--init`) over them: what `detc run/eval/predict` start from before any checkpoint.
 */
export function initialiseWeights(model: FasterRCNN, options: { specDir: string; init?: string }): WeightsReport[] {
  const reports: WeightsReport[] = [];
  if (model.spec.backbone.weights !== undefined) reports.push(loadBackboneWeights(model, resolve(options.specDir, model.spec.backbone.weights)));
  if (options.init !== undefined) reports.push(loadDetectorWeights(model, options.init));
  return reports;
}

const SHOWN = 6;
const partOf = (key: string) => PARTS.find((part) => key.startsWith(part))?.slice(0, -1) ?? "other";

function grouped<T>(title: string, items: readonly T[], keyOf: (item: T) => string, describe: (item: T) => string): string[] {
  if (items.length === 0) return [];
  const byPart = new Map<string, T[]>();
  for (const item of items) byPart.set(partOf(keyOf(item)), [...(byPart.get(partOf(keyOf(item))) ?? []), item]);
  const lines = [`  ${title} (${items.length}):`];
  for (const [part, members] of byPart) {
    const more = members.length > SHOWN ? `, … and ${members.length - SHOWN} more` : "";
    lines.push(`    ${part}: ${members.slice(0, SHOWN).map(describe).join(", ")}${more}`);
  }
  return lines;
}

/** The report as `detc` prints it. */
export function formatWeightsReport(report: WeightsReport): string {
  const total = report.loaded.length + report.missing.length;
  const into = report.kind === "backbone" ? "the backbone" : "the detector";
  const lines = [`weights ${report.file}: ${report.loaded.length} of ${total} tensors of ${into} loaded`];
  if (report.replacedPredictor)
    lines.push(
      `  box predictor: the file's has ${report.replacedPredictor.fileClasses} classes (with background), this detector ${report.replacedPredictor.modelClasses}; kept freshly initialised`,
    );
  lines.push(...grouped("missing from the file, left as initialised", report.missing, (key) => key, (key) => key));
  lines.push(
    ...grouped("shape mismatches, left as initialised", report.mismatched, (m) => m.key, (m) => `${m.key} file [${m.fileShape.join(", ")}] vs model [${m.modelShape.join(", ")}]`),
  );
  lines.push(...grouped("unexpected in the file, not used", report.unexpected, (key) => key, (key) => key));
  if (report.ignored.length > 0)
    lines.push(`  ignored ${report.ignored.length} tensors outside the tapped layers (classifier, later stages), e.g. ${report.ignored.slice(0, 3).join(", ")}`);
  return lines.join("\n");
}
