/**
 * Initialising a detector from torchvision weights, like `load_state_dict(strict=True)` but with a
 * readable account, grouped by part: what the file lacks, what the model lacks, and shapes that
 * disagree (both shapes), with a hint when a prefix rename would explain them. The file's layout
 * is recognised from its keys (`layouts.ts`) and named in the report. Two kinds of file:
 *
 * - a classification network's (`backbone NAME weights "FILE"`): every tensor of the backbone body
 *   must come from it; the classifier and layers past the last tap are ignored, as torchvision's
 *   `IntermediateLayerGetter` drops them;
 * - a whole Faster R-CNN's (`--init FILE`): every tensor of the backbone, FPN, RPN and box head
 *   (or the backbone weights' file before it). Only the box predictor may be replaced, when the
 *   file's was made for another class count, as torchvision's fine-tuning tutorial does.
 *
 * A file that does not fit is refused before anything is assigned, unless `allowPartial`, which
 * loads what fits and still reports the rest. A file of which nothing fits is always refused. A
 * file that fails while its tensors are read (cut off, replaced meanwhile) leaves the variables it
 * was filling at zero: the error ends the command; a library caller loads again.
 */
import { resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { FasterRCNN } from "../detection/faster-rcnn.js";
import { InputError } from "../util/input-error.js";
import { findBackbone } from "../zoo/index.js";
import { stateEntries } from "../zoo/graph.js";
import { backboneNamings, detectorNamings, normaliseKeys, recognise, renameHint, type Naming } from "./layouts.js";
import type { NamedTensor } from "./safetensors.js";
import { float32Values, int32Values, readStateDict } from "./state-dict.js";
import { collectGarbage, collectGarbageEvery } from "../util/collect-garbage.js";
import { moveIntoEngine, releaseValues } from "../engine/move-into-engine.js";

export interface ShapeMismatch {
  readonly key: string;
  readonly fileShape: readonly number[];
  readonly modelShape: readonly number[];
}

export interface WeightsReport {
  readonly file: string;
  readonly kind: "backbone" | "detector";
  /** The layout recognised, and what was renamed on the way (`module.` prefix, pre-0.13 keys). */
  readonly layout: string;
  readonly notes: readonly string[];
  /** Model keys filled from the file. */
  readonly loaded: readonly string[];
  /** Model keys the file lacks that the backbone weights' file already filled. */
  readonly fromEarlier: readonly string[];
  /** Model keys no file filled. */
  readonly missing: readonly string[];
  /** File keys the model has no tensor for. */
  readonly unexpected: readonly string[];
  readonly mismatched: readonly ShapeMismatch[];
  /** File keys dropped on purpose: a classifier's and untapped layers', or a detector's parts past the backbone. */
  readonly ignored: readonly string[];
  /** Detector files made for another class count: their box predictor's classes and ours. */
  readonly replacedPredictor?: { readonly keys: readonly string[]; readonly fileClasses: number; readonly modelClasses: number };
  readonly hint?: string;
  /** Loaded though incomplete (`--allow-partial`): what the file lacked stays as initialised. */
  readonly partial?: boolean;
}

/** Whether every tensor the spec needs came from the files, as `strict=True` requires. */
export const isComplete = (report: WeightsReport) => report.missing.length + report.unexpected.length + report.mismatched.length === 0;

/** A weights file that does not fit (the message is the report): exit 1, as for any bad input. */
export class WeightsMismatchError extends InputError {}

export interface LoadOptions {
  /** Load what fits from a file that does not fit, and report the rest (`--allow-partial`). */
  readonly allowPartial?: boolean;
}

const BODY = "backbone.body.";
const PREDICTOR = "roi_heads.box_predictor.";
const PARTS = ["backbone.body.", "backbone.fpn.", "rpn.", "roi_heads.box_head.", "roi_heads.box_predictor."];
const COUNTER = ".num_batches_tracked";

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((extent, i) => extent === b[i]);

/**
 * A file tensor's values in our layout, and the bytes of the array read from the file when they
 * were converted into another (garbage once this returns, before the engine's copy is made).
 */
function valuesInOurLayout(model: FasterRCNN, key: string, tensor: NamedTensor): { values: Float32Array; garbage: number } {
  const read = float32Values(tensor);
  const values = model.fromTorchLayout(key, read, tensor.shape);
  return { values, garbage: values === read ? 0 : read.byteLength };
}

/** One file tensor into its variable; `dropped` is told of the arrays it leaves behind. */
function assign(model: FasterRCNN, key: string, variable: tf.Variable, tensor: NamedTensor, dropped: (bytes: number) => void): void {
  let values: Float32Array | Int32Array;
  if (variable.dtype === "int32") values = int32Values(tensor);
  else {
    const converted = valuesInOurLayout(model, key, tensor);
    dropped(converted.garbage);
    values = converted.values;
  }
  tf.tidy(() => {
    variable.assign(tf.tensor(values, variable.shape, variable.dtype));
    moveIntoEngine(variable);
  });
  dropped(values.byteLength);
}

interface Plan {
  readonly report: WeightsReport;
  /** Model key → file tensor, for what loads. */
  readonly assignments: ReadonlyMap<string, NamedTensor>;
}

/**
 * What loading `file` under the best of `namings` would do to the variables `inScope`.
 * `ignorable` says which unmatched file keys are dropped on purpose rather than unexpected.
 */
function plan(
  model: FasterRCNN,
  file: string,
  kind: WeightsReport["kind"],
  namings: readonly Naming[],
  inScope: (key: string) => boolean,
  ignorable: (fileKey: string) => boolean,
  filledEarlier: ReadonlySet<string>,
): Plan {
  const { tensors, notes } = normaliseKeys(readStateDict(file));
  const variables = model.variables();
  const scope = [...variables.keys()].filter(inScope);
  const { naming, found } = recognise(namings, scope, new Set(tensors.keys()));
  if (found.size === 0) {
    const examples = [...tensors.keys()].slice(0, 3).map((key) => `\`${key}\``).join(", ");
    const what = kind === "backbone" ? `backbone ${model.spec.backbone.name}` : `detector ${model.spec.name} (backbone ${model.spec.backbone.name})`;
    throw new WeightsMismatchError(
      `${file}: none of its ${tensors.size} tensors fit ${what} (its keys look like ${examples || "nothing"}); is it a weights file for another network?`,
    );
  }
  const predictorKeys = scope.filter((key) => key.startsWith(PREDICTOR));
  const fileClasses = found.has(`${PREDICTOR}cls_score.bias`) ? tensors.get(found.get(`${PREDICTOR}cls_score.bias`)!)!.shape[0] : undefined;
  const replacePredictor = kind === "detector" && fileClasses !== undefined && fileClasses !== model.spec.classes.count;

  const assignments = new Map<string, NamedTensor>();
  const loaded: string[] = [];
  const fromEarlier: string[] = [];
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  for (const key of scope) {
    if (replacePredictor && key.startsWith(PREDICTOR)) continue;
    const fileKey = found.get(key);
    if (fileKey === undefined) {
      // FrozenBatchNorm2d has no `num_batches_tracked`, and torch's loader does not miss it either.
      if (filledEarlier.has(key)) fromEarlier.push(key);
      else if (!key.endsWith(COUNTER)) missing.push(key);
      continue;
    }
    const tensor = tensors.get(fileKey)!;
    const modelShape = model.torchShape(key);
    if (!sameShape(modelShape, tensor.shape)) {
      mismatched.push({ key, fileShape: tensor.shape, modelShape });
      continue;
    }
    assignments.set(key, tensor);
    loaded.push(key);
  }
  const used = new Set([...found.values()]);
  const predictorFileKeys = replacePredictor ? new Set(predictorKeys.map((key) => naming.keyOf(key))) : new Set<string | undefined>();
  const unmatched = [...tensors.keys()].filter((key) => !used.has(key) && !predictorFileKeys.has(key));
  const ignored = unmatched.filter(ignorable);
  const unexpected = unmatched.filter((key) => !ignorable(key));
  const hint = renameHint(unexpected, missing);
  const report: WeightsReport = {
    file,
    kind,
    layout: `${naming.name} (keys like \`${found.get(scope.find((key) => key.startsWith(BODY) && found.has(key)) ?? [...found.keys()][0]!)}\`)`,
    notes,
    loaded,
    fromEarlier,
    missing,
    unexpected,
    mismatched,
    ignored,
    ...(replacePredictor && { replacedPredictor: { keys: predictorKeys, fileClasses: fileClasses!, modelClasses: model.spec.classes.count } }),
    ...(hint && { hint }),
  };
  return { report, assignments };
}

function apply(model: FasterRCNN, { report, assignments }: Plan, options: LoadOptions): WeightsReport {
  if (!isComplete(report) && !options.allowPartial)
    throw new WeightsMismatchError(
      `${formatWeightsReport(report)}\n` +
        `refused: every tensor of the ${report.kind === "backbone" ? "backbone" : "backbone, FPN, RPN and box head"} must come from the file with its shape ` +
        `(as load_state_dict(strict=True)); --allow-partial loads what fits and keeps the rest as initialised`,
    );
  const variables = model.variables();
  // The initial values the file replaces go before its values arrive.
  releaseValues([...assignments.keys()].map((key) => variables.get(key)!));
  collectGarbage();
  const dropped = collectGarbageEvery();
  // Largest first: the biggest tensor's values (and their converted copy) are read while the
  // engine holds the least.
  const bySize = [...assignments].sort(([a], [b]) => variables.get(b)!.size - variables.get(a)!.size);
  for (const [key, tensor] of bySize) {
    assign(model, key, variables.get(key)!, tensor, dropped);
  }
  return isComplete(report) ? report : { ...report, partial: true };
}

/** A classification network's weights into the backbone body. */
export function loadBackboneWeights(model: FasterRCNN, file: string, options: LoadOptions = {}): WeightsReport {
  const graph = findBackbone(model.spec.backbone.name)!.graph();
  const network = new Set(stateEntries(graph.nodes).map((entry) => entry.key));
  const detectorParts = ["backbone.fpn.", "rpn.", "roi_heads."];
  // The classifier and untapped layers, or, in a detector's file, everything past the backbone.
  const ignorable = (fileKey: string) => network.has(fileKey) || detectorParts.some((part) => fileKey.startsWith(part));
  return apply(model, plan(model, file, "backbone", backboneNamings(model.spec), (key) => key.startsWith(BODY), ignorable, new Set()), options);
}

/** A whole torchvision Faster R-CNN's weights, over what `filledEarlier` (backbone weights) loaded. */
export function loadDetectorWeights(model: FasterRCNN, file: string, options: LoadOptions & { filledEarlier?: ReadonlySet<string> } = {}): WeightsReport {
  return apply(model, plan(model, file, "detector", detectorNamings(model.spec), () => true, () => false, options.filledEarlier ?? new Set()), options);
}

/**
 * The spec's backbone weights (a path relative to the spec's folder), then a whole detector's
 * (`--init`) over them: what `detc run/eval/predict/forward/export` start from before any checkpoint.
 */
export function initialiseWeights(model: FasterRCNN, options: { specDir: string; init?: string } & LoadOptions): WeightsReport[] {
  const reports: WeightsReport[] = [];
  if (model.spec.backbone.weights !== undefined) reports.push(loadBackboneWeights(model, resolve(options.specDir, model.spec.backbone.weights), options));
  if (options.init !== undefined) reports.push(loadDetectorWeights(model, options.init, { ...options, filledEarlier: new Set(reports.flatMap((r) => r.loaded)) }));
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
    lines.push(`    ${part} (${members.length}): ${members.slice(0, SHOWN).map(describe).join(", ")}${more}`);
  }
  return lines;
}

/** The report as `detc` prints it; its counts add up to the tensors the file was to fill. */
export function formatWeightsReport(report: WeightsReport): string {
  const replaced = report.replacedPredictor?.keys.length ?? 0;
  const total = report.loaded.length + report.fromEarlier.length + replaced + report.missing.length + report.mismatched.length;
  const into = report.kind === "backbone" ? "the backbone's" : "the detector's";
  const counts = [
    `${report.loaded.length} of ${into} ${total} tensors loaded`,
    report.fromEarlier.length > 0 && `${report.fromEarlier.length} from the backbone weights`,
    replaced > 0 && `${replaced} of the box predictor replaced`,
    report.missing.length > 0 && `${report.missing.length} missing`,
    report.mismatched.length > 0 && `${report.mismatched.length} of another shape`,
  ].filter(Boolean);
  const lines = [`weights ${report.file}: ${report.layout}${report.notes.map((note) => `; ${note}`).join("")}`, `  ${counts.join(", ")}`];
  if (report.replacedPredictor)
    lines.push(
      `  box predictor: the file's has ${report.replacedPredictor.fileClasses} classes (with background), this detector ${report.replacedPredictor.modelClasses}; it starts freshly initialised (fine-tuning)`,
    );
  lines.push(...grouped("missing from the file", report.missing, (key) => key, (key) => key));
  lines.push(...grouped("shape mismatches", report.mismatched, (m) => m.key, (m) => `${m.key} file [${m.fileShape.join(", ")}] vs model [${m.modelShape.join(", ")}]`));
  lines.push(...grouped("unexpected in the file", report.unexpected, (key) => key, (key) => key));
  if (report.hint) lines.push(`  hint: ${report.hint}`);
  if (report.ignored.length > 0)
    lines.push(`  ignored ${report.ignored.length} tensors outside the tapped layers (classifier, later stages) or past the backbone, e.g. ${report.ignored.slice(0, 3).join(", ")}`);
  if (report.partial) lines.push(`  --allow-partial: ${report.missing.length + report.mismatched.length} tensors stay as initialised`);
  return lines.join("\n");
}
