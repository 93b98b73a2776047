/**
 * COCO "instances" annotations: one JSON file (images, annotations, categories) and a folder of images.
 *
 * - Category ids become labels 1..K in ascending id order (COCO's 80 ids run 1..90 with gaps).
 * - `bbox` [x, y, w, h] becomes [x1, y1, x2, y2]; COCO's coordinates are already continuous pixels.
 * - Crowd annotations are kept, flagged: evaluation needs them, training leaves them out.
 * - Images without annotations are kept (they count in evaluation); `trainingSubset` drops them.
 * - A box reaching ≤ 1 px outside the image is clipped; further out, or of zero area, it is
 *   skipped with a warning. Anything else malformed is a `DatasetError` naming file and record.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import {
  type Box,
  boxArea,
  DatasetError,
  type DatasetWarning,
  type DetectionDataset,
  type DetectionSample,
  fitBoxToImage,
  formatBox,
} from "./dataset.js";
import { checkImageFiles, countTurnedImages, decodeImageFile, type MissingImagePolicy } from "./images.js";
import { parseJsonFile } from "./json.js";
import { elementAt } from "../util/element-at.js";

/** One image of the file with its usable annotations. */
export interface CocoImageRecord {
  readonly id: number;
  readonly fileName: string;
  readonly width: number;
  readonly height: number;
  /** The record's name in the file, for messages about the image. */
  readonly record: string;
  readonly boxes: readonly Box[];
  readonly labels: readonly number[];
  readonly iscrowd: readonly boolean[];
  readonly areas: readonly number[];
}

export interface CocoInstances {
  readonly classNames: readonly string[];
  /** `categoryIds[label - 1]` is the file's category id for `label`, to write results back in its ids. */
  readonly categoryIds: readonly number[];
  readonly images: readonly CocoImageRecord[];
  readonly warnings: readonly DatasetWarning[];
}

const show = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** Typed access to one record's fields; a missing or mistyped field throws a `DatasetError`. */
function fields(file: string, record: string, value: unknown) {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new DatasetError(file, record, `must be an object, got ${show(value)}`);
  }
  const object = value as Record<string, unknown>;
  const get = (name: string): unknown => {
    if (!(name in object)) throw new DatasetError(file, record, `missing field "${name}"`);
    return object[name];
  };
  const wrong = (name: string, expected: string): never => {
    throw new DatasetError(file, record, `"${name}" must be ${expected}, got ${show(object[name])}`);
  };
  const has = (name: string): boolean => name in object && object[name] !== null;
  return {
    has,
    integer(name: string): number {
      const field = get(name);
      return Number.isSafeInteger(field) ? (field as number) : wrong(name, "an integer");
    },
    positiveInteger(name: string): number {
      const field = get(name);
      const valid = Number.isSafeInteger(field) && (field as number) > 0;
      return valid ? (field as number) : wrong(name, "a positive integer");
    },
    string(name: string): string {
      const field = get(name);
      return typeof field === "string" && field !== "" ? field : wrong(name, "a non-empty string");
    },
    nonNegativeNumber(name: string): number {
      const field = get(name);
      return typeof field === "number" && Number.isFinite(field) && field >= 0 ? field : wrong(name, "a number ≥ 0");
    },
    flag(name: string): boolean {
      const field = get(name);
      return [0, 1, false, true].includes(field as number | boolean) ? Boolean(field) : wrong(name, "0 or 1");
    },
    fourNumbers(name: string): [number, number, number, number] {
      const field = get(name);
      if (Array.isArray(field) && field.length === 4) {
        const [a, b, c, d] = field as unknown[];
        const finite = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n);
        if (finite(a) && finite(b) && finite(c) && finite(d)) return [a, b, c, d];
      }
      return wrong(name, "an array of 4 numbers");
    },
  };
}

function recordName(collection: string, index: number, entry: unknown): string {
  const id = typeof entry === "object" && entry !== null ? (entry as { id?: unknown }).id : undefined;
  return id === undefined ? `${collection}[${index}]` : `${collection}[${index}] (id ${show(id)})`;
}

/** The root object's three arrays, all checked before any record is read. */
function instanceCollections(text: string, file: string) {
  const root = parseJsonFile(text, file);
  if (typeof root !== "object" || root === null || Array.isArray(root)) {
    throw new DatasetError(file, undefined, "must hold a JSON object with images, annotations and categories");
  }
  const collection = (name: string): unknown[] => {
    const value = (root as Record<string, unknown>)[name];
    if (!Array.isArray(value)) {
      const hint =
        name === "annotations" ? " (an image-info file without annotations cannot be trained or scored on)" : "";
      throw new DatasetError(file, undefined, `missing "${name}" array${hint}`);
    }
    return value;
  };
  return {
    categoryEntries: collection("categories"),
    imageEntries: collection("images"),
    annotationEntries: collection("annotations"),
  };
}

interface CocoCategory {
  readonly id: number;
  readonly name: string;
  readonly record: string;
}

/** The categories in ascending id order, each id's label (its 1-based position in that order). */
function parseCategories(entries: readonly unknown[], file: string) {
  const categories: CocoCategory[] = entries.map((entry, index) => {
    const record = recordName("categories", index, entry);
    const category = fields(file, record, entry);
    return { id: category.integer("id"), name: category.string("name"), record };
  });
  categories.sort((a, b) => a.id - b.id);
  const labelByCategoryId = new Map<number, number>();
  const seenNames = new Set<string>();
  categories.forEach(({ id, name, record }, index) => {
    if (labelByCategoryId.has(id)) throw new DatasetError(file, record, `duplicate category id ${id}`);
    if (seenNames.has(name)) throw new DatasetError(file, record, `duplicate category name "${name}"`);
    labelByCategoryId.set(id, index + 1);
    seenNames.add(name);
  });
  if (categories.length === 0) throw new DatasetError(file, undefined, `"categories" is empty`);
  return { categories, labelByCategoryId };
}

/** An image record while its annotations are being attached. */
interface ImageDraft extends CocoImageRecord {
  readonly boxes: Box[];
  readonly labels: number[];
  readonly iscrowd: boolean[];
  readonly areas: number[];
}

/** The images in file order, with no annotations yet, and an index by id. */
function parseImages(entries: readonly unknown[], file: string) {
  const images: ImageDraft[] = [];
  const imageById = new Map<number, ImageDraft>();
  entries.forEach((entry, index) => {
    const record = recordName("images", index, entry);
    const image = fields(file, record, entry);
    const draft: ImageDraft = {
      id: image.integer("id"),
      fileName: image.string("file_name"),
      width: image.positiveInteger("width"),
      height: image.positiveInteger("height"),
      record,
      boxes: [],
      labels: [],
      iscrowd: [],
      areas: [],
    };
    if (imageById.has(draft.id)) throw new DatasetError(file, record, `duplicate image id ${draft.id}`);
    imageById.set(draft.id, draft);
    images.push(draft);
  });
  return { images, imageById };
}

/**
 * Validates one annotation and attaches it to its image, as a box clipped to the image; a box
 * too far outside (or empty) is skipped with a warning instead.
 */
function attachAnnotation(
  entry: unknown,
  index: number,
  file: string,
  imageById: ReadonlyMap<number, ImageDraft>,
  { categories, labelByCategoryId }: ReturnType<typeof parseCategories>,
  warnings: DatasetWarning[],
): void {
  const record = recordName("annotations", index, entry);
  const annotation = fields(file, record, entry);
  const imageId = annotation.integer("image_id");
  const image = imageById.get(imageId);
  if (image === undefined) throw new DatasetError(file, record, `image_id ${imageId} is not in "images"`);
  const categoryId = annotation.integer("category_id");
  const label = labelByCategoryId.get(categoryId);
  if (label === undefined) {
    const known = categories.map(({ id }) => id).join(", ");
    throw new DatasetError(file, record, `unknown category_id ${categoryId} (the categories' ids are ${known})`);
  }
  const [x, y, width, height] = annotation.fourNumbers("bbox");
  if (width < 0 || height < 0) {
    throw new DatasetError(
      file,
      record,
      `bbox ${formatBox([x, y, width, height])} has a negative width or height; ` +
        "COCO boxes are [x, y, width, height] — was it written as [x1, y1, x2, y2]?",
    );
  }
  const fitted = fitBoxToImage([x, y, x + width, y + height], image.width, image.height);
  if ("problem" in fitted) {
    warnings.push({ file, record, message: `${fitted.problem}; box skipped` });
    return;
  }
  image.boxes.push(fitted.box);
  image.labels.push(label);
  image.iscrowd.push(annotation.has("iscrowd") && annotation.flag("iscrowd"));
  image.areas.push(annotation.has("area") ? annotation.nonNegativeNumber("area") : boxArea(fitted.box));
}

/** Validates and converts the text of an instances file; pure, `file` only names it in messages. */
export function parseCocoInstances(text: string, file: string): CocoInstances {
  const { categoryEntries, imageEntries, annotationEntries } = instanceCollections(text, file);
  const parsedCategories = parseCategories(categoryEntries, file);
  const { images, imageById } = parseImages(imageEntries, file);
  const warnings: DatasetWarning[] = [];
  annotationEntries.forEach((entry, index) =>
    attachAnnotation(entry, index, file, imageById, parsedCategories, warnings),
  );
  const { categories } = parsedCategories;
  return {
    classNames: categories.map(({ name }) => name),
    categoryIds: categories.map(({ id }) => id),
    images,
    warnings,
  };
}

export interface CocoOptions {
  /** The instances JSON, e.g. `annotations/instances_val2017.json`. */
  readonly annotationFile: string;
  /** The folder the images' `file_name`s are relative to. */
  readonly imageDir: string;
  readonly split: string;
  readonly missingImages?: MissingImagePolicy;
}

export interface CocoDataset extends DetectionDataset {
  readonly kind: "coco";
  readonly categoryIds: readonly number[];
}

export async function loadCocoDataset(options: CocoOptions): Promise<CocoDataset> {
  const { annotationFile, imageDir } = options;
  const text = await readFile(annotationFile, "utf8").catch((error: NodeJS.ErrnoException) => {
    const problem = error.code === "ENOENT" ? "annotation file not found" : error.message;
    throw new DatasetError(annotationFile, undefined, problem);
  });
  const instances = parseCocoInstances(text, annotationFile);
  const files = instances.images.map((image) => ({ file: join(imageDir, image.fileName), record: image.record }));
  const { present, warnings } = await checkImageFiles(files, options.missingImages ?? "error");
  const turnedByExif = await countTurnedImages(files.filter((_, index) => present[index]).map(({ file }) => file));
  const samples = instances.images.flatMap((image, index): DetectionSample[] => {
    const file = elementAt(files, index).file;
    if (!present[index]) return [];
    const { id, fileName, width, height, boxes, labels, iscrowd, areas } = image;
    return [
      {
        id,
        name: fileName,
        width,
        height,
        boxes,
        labels,
        iscrowd,
        difficult: boxes.map(() => false),
        areas,
        loadImage: () => decodeImageFile(file, { width, height }),
      },
    ];
  });
  return {
    kind: "coco",
    split: options.split,
    classNames: instances.classNames,
    categoryIds: instances.categoryIds,
    samples,
    warnings: [...instances.warnings, ...warnings],
    turnedByExif,
  };
}
