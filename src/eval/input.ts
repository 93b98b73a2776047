/**
 * The data both evaluators read: COCO-format ground truth and COCO result-format detections, and
 * the checks that turn a malformed record into an error naming it instead of a wrong number.
 */

import { InputError } from "../util/input-error.js";

/** `[x, y, width, height]` in pixels, as COCO writes boxes. */
export type Box = readonly [number, number, number, number];

export interface CocoImage {
  readonly id: number;
}

export interface CocoCategory {
  readonly id: number;
  readonly name?: string;
}

export interface CocoAnnotation {
  readonly id: number;
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: Box;
  /** Decides the area range (small/medium/large) of the object; COCO's is the mask's area, not the box's. */
  readonly area: number;
  readonly iscrowd: 0 | 1 | boolean;
}

export interface CocoGroundTruth {
  readonly images: readonly CocoImage[];
  readonly annotations: readonly CocoAnnotation[];
  readonly categories: readonly CocoCategory[];
}

export interface CocoDetection {
  readonly image_id: number;
  readonly category_id: number;
  readonly bbox: Box;
  readonly score: number;
}

/** Thrown for input that cannot be evaluated; `record` names the offending entry (`detections[3]`). */
export class EvaluationInputError extends InputError {
  override readonly name = "EvaluationInputError";

  constructor(
    readonly record: string,
    problem: string,
  ) {
    super(`${record}: ${problem}`);
  }
}

/** A value as the user wrote it; numbers via String so NaN and Infinity survive. */
const show = (value: unknown): string =>
  typeof value === "number" ? String(value) : (JSON.stringify(value) ?? String(value));

export function requireArray(value: unknown, record: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new EvaluationInputError(record, `must be an array, got ${show(value)}`);
}

function requireObject(value: unknown, record: string): asserts value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) {
    throw new EvaluationInputError(record, `must be an object, got ${show(value)}`);
  }
}

function requireInteger(value: unknown, record: string, field: string): asserts value is number {
  if (!Number.isSafeInteger(value)) {
    throw new EvaluationInputError(record, `${field} must be an integer, got ${show(value)}`);
  }
}

function requireNonNegative(value: unknown, record: string, field: string): asserts value is number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new EvaluationInputError(record, `${field} must be a finite number ≥ 0, got ${show(value)}`);
  }
}

function requireBox(value: unknown, record: string): void {
  if (!Array.isArray(value) || value.length !== 4) {
    throw new EvaluationInputError(record, `bbox must be [x, y, width, height], got ${show(value)}`);
  }
  for (const [index, field] of ["x", "y"].entries()) {
    if (typeof value[index] !== "number" || !Number.isFinite(value[index])) {
      throw new EvaluationInputError(record, `bbox ${field} must be a finite number, got ${show(value[index])}`);
    }
  }
  requireNonNegative(value[2], record, "bbox width");
  requireNonNegative(value[3], record, "bbox height");
}

/** The ids of `records`, checked to be unique integers. */
function uniqueIds(records: unknown, collection: string): Set<number> {
  requireArray(records, collection);
  const indexOfId = new Map<number, number>();
  records.forEach((entry, index) => {
    const record = `${collection}[${index}]`;
    requireObject(entry, record);
    requireInteger(entry.id, record, "id");
    const first = indexOfId.get(entry.id);
    if (first !== undefined) {
      throw new EvaluationInputError(record, `id ${entry.id} is already used by ${collection}[${first}]`);
    }
    indexOfId.set(entry.id, index);
  });
  return new Set(indexOfId.keys());
}

/** The ids a record may refer to: a set of them, or a map from them. */
interface KnownIds {
  has(id: number): boolean;
}

function requireKnown(id: unknown, known: KnownIds, record: string, field: string, collection: string): void {
  requireInteger(id, record, field);
  if (!known.has(id)) {
    throw new EvaluationInputError(record, `${field} ${id} is not in the ground truth's ${collection}`);
  }
}

/** Throws an `EvaluationInputError` for the first record of `groundTruth` the evaluators could not score meaningfully. */
export function validateGroundTruth(groundTruth: CocoGroundTruth): { imageIds: Set<number>; categoryIds: Set<number> } {
  requireObject(groundTruth, "groundTruth");
  const imageIds = uniqueIds(groundTruth.images, "images");
  const categoryIds = uniqueIds(groundTruth.categories, "categories");
  // Also rejects duplicate ids: pycocotools indexes annotations by id and would silently keep the last.
  uniqueIds(groundTruth.annotations, "annotations");
  groundTruth.annotations.forEach((annotation, index) => {
    const record = `annotations[${index}] (id ${annotation.id})`;
    requireKnown(annotation.image_id, imageIds, record, "image_id", "images");
    requireKnown(annotation.category_id, categoryIds, record, "category_id", "categories");
    requireBox(annotation.bbox, record);
    requireNonNegative(annotation.area, record, "area");
    if (![0, 1, false, true].includes(annotation.iscrowd)) {
      throw new EvaluationInputError(record, `iscrowd must be 0 or 1, got ${show(annotation.iscrowd)}`);
    }
  });
  return { imageIds, categoryIds };
}

/** Throws an `EvaluationInputError` naming `detections[index]` if the record cannot be scored. */
export function validateDetection(
  detection: unknown,
  index: number,
  known: { readonly imageIds: KnownIds; readonly categoryIds: KnownIds },
): asserts detection is CocoDetection {
  const record = `detections[${index}]`;
  requireObject(detection, record);
  requireKnown(detection.image_id, known.imageIds, record, "image_id", "images");
  requireKnown(detection.category_id, known.categoryIds, record, "category_id", "categories");
  requireBox(detection.bbox, record);
  if (typeof detection.score !== "number" || !Number.isFinite(detection.score)) {
    throw new EvaluationInputError(record, `score must be a finite number, got ${show(detection.score)}`);
  }
}

/** Throws an `EvaluationInputError` for the first record the evaluators could not score meaningfully. */
export function validateEvaluationInput(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[]): void {
  const known = validateGroundTruth(groundTruth);
  requireArray(detections, "detections");
  detections.forEach((detection, index) => validateDetection(detection, index, known));
}
