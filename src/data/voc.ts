/**
 * Pascal VOC: `root/Annotations/<id>.xml`, `root/JPEGImages/<id>.jpg`, and the ids of a split in
 * `root/ImageSets/Main/<split>.txt` (root being e.g. `VOCdevkit/VOC2007`).
 *
 * Coordinates: VOC's `xmin..xmax` are 1-based *inclusive* pixel indices, so `xmin=1, xmax=W` is
 * the whole row. In continuous coordinates that row spans [0, W]: x1 = xmin − 1, y1 = ymin − 1,
 * x2 = xmax, y2 = ymax. This is Detectron2's conversion (`load_voc_instances`); torchvision has no
 * VOC detection reference and its `VOCDetection` returns the raw XML, so tutorials built on it
 * feed the raw numbers (a half-pixel-ish shift). The VOC AP evaluator's +1 widths give back the
 * devkit's numbers from these boxes.
 *
 * `difficult` objects are kept and flagged: trained on (as Detectron2 does), ignored by VOC AP.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { closest, distance } from "fastest-levenshtein";
import { XMLParser, XMLValidator } from "fast-xml-parser";
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
import { elementAt } from "../util/element-at.js";

/** VOC's 20 classes in the devkit's order, which fixes the labels 1..20. */
export const VOC_CLASS_NAMES = [
  "aeroplane",
  "bicycle",
  "bird",
  "boat",
  "bottle",
  "bus",
  "car",
  "cat",
  "chair",
  "cow",
  "diningtable",
  "dog",
  "horse",
  "motorbike",
  "person",
  "pottedplant",
  "sheep",
  "sofa",
  "train",
  "tvmonitor",
] as const;

export interface VocAnnotation {
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly Box[];
  readonly labels: readonly number[];
  readonly difficult: readonly boolean[];
  readonly warnings: readonly DatasetWarning[];
}

// Values stay strings (no number guessing): each field is checked where it is read.
const xmlParser = new XMLParser({ parseTagValue: false, ignoreAttributes: true, isArray: (tag) => tag === "object" });

type XmlNode = Record<string, unknown>;

/** Parses one annotation file's text; pure, `file` only names it in messages. */
export function parseVocAnnotation(xml: string, file: string, classNames: readonly string[]): VocAnnotation {
  // fast-xml-parser's parser accepts broken XML silently; its validator locates the fault.
  const validation = XMLValidator.validate(xml);
  if (validation !== true) {
    const { line, col, msg } = validation.err;
    throw new DatasetError(file, undefined, `malformed XML at line ${line}, column ${col}: ${msg}`);
  }
  const annotation = (xmlParser.parse(xml) as XmlNode).annotation;
  if (typeof annotation !== "object" || annotation === null) {
    throw new DatasetError(file, undefined, "missing <annotation> root element");
  }

  const text = (node: unknown, path: readonly string[], record: string): string => {
    let current = node;
    for (const tag of path) {
      current = typeof current === "object" && current !== null ? (current as XmlNode)[tag] : undefined;
    }
    if (typeof current !== "string" || current.trim() === "") {
      throw new DatasetError(file, record, `missing <${path.join("><")}>`);
    }
    return current.trim();
  };
  const number = (node: unknown, path: readonly string[], record: string): number => {
    const written = text(node, path, record);
    const value = Number(written);
    if (!Number.isFinite(value)) {
      throw new DatasetError(file, record, `<${path.at(-1)}> must be a number, got "${written}"`);
    }
    return value;
  };
  const positiveInteger = (path: readonly string[]): number => {
    const value = number(annotation, path, "<size>");
    if (!Number.isInteger(value) || value <= 0) {
      throw new DatasetError(file, "<size>", `<${path.at(-1)}> must be a positive integer, got ${value}`);
    }
    return value;
  };

  const width = positiveInteger(["size", "width"]);
  const height = positiveInteger(["size", "height"]);
  const boxes: Box[] = [];
  const labels: number[] = [];
  const difficult: boolean[] = [];
  const warnings: DatasetWarning[] = [];
  const objects = ((annotation as XmlNode).object ?? []) as unknown[];
  objects.forEach((object, index) => {
    const nameNode = typeof object === "object" && object !== null ? (object as XmlNode).name : undefined;
    const record = `object #${index + 1}` + (typeof nameNode === "string" ? ` ("${nameNode.trim()}")` : "");
    const name = text(object, ["name"], record);
    const label = classNames.indexOf(name) + 1;
    if (label === 0) {
      const nearest = closest(name, [...classNames]);
      const suggestion = distance(name, nearest) <= Math.max(2, name.length / 3) ? `did you mean "${nearest}"? ` : "";
      const problem = `unknown class "${name}" (${suggestion}classes are ${classNames.join(", ")})`;
      throw new DatasetError(file, record, problem);
    }
    const difficultNode = (object as XmlNode).difficult;
    const difficultText = typeof difficultNode === "string" && difficultNode.trim() !== "" ? difficultNode.trim() : "0";
    if (difficultText !== "0" && difficultText !== "1") {
      throw new DatasetError(file, record, `<difficult> must be 0 or 1, got "${difficultText}"`);
    }
    const corner = (tag: string) => number(object, ["bndbox", tag], record);
    const corners = [corner("xmin"), corner("ymin"), corner("xmax"), corner("ymax")] as const;
    const [xmin, ymin, xmax, ymax] = corners;
    if (xmax < xmin || ymax < ymin) {
      throw new DatasetError(file, record, `<bndbox> has xmax < xmin or ymax < ymin: ${formatBox(corners)}`);
    }
    const fitted = fitBoxToImage([xmin - 1, ymin - 1, xmax, ymax], width, height);
    if ("problem" in fitted) {
      warnings.push({ file, record, message: `${fitted.problem}; box skipped` });
      return;
    }
    boxes.push(fitted.box);
    labels.push(label);
    difficult.push(difficultText === "1");
  });
  return { width, height, boxes, labels, difficult, warnings };
}

export interface VocOptions {
  /** The folder holding Annotations/, JPEGImages/ and ImageSets/, e.g. `VOCdevkit/VOC2007`. */
  readonly root: string;
  /** A list in ImageSets/Main: "train", "val", "trainval" or "test". */
  readonly split: string;
  /** Class names in label order, e.g. from the spec; VOC's 20 by default. An object of another class is an error. */
  readonly classNames?: readonly string[];
  readonly missingImages?: MissingImagePolicy;
}

async function readTextFile(file: string, what: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new DatasetError(file, undefined, error.code === "ENOENT" ? `${what} not found` : error.message);
  });
}

export async function loadVocDataset(options: VocOptions): Promise<DetectionDataset> {
  const { root, split } = options;
  const classNames = options.classNames ?? VOC_CLASS_NAMES;
  const splitFile = join(root, "ImageSets", "Main", `${split}.txt`);
  // A line may carry more columns (the per-class lists' "id  1"); the id is the first.
  const splitList = await readTextFile(splitFile, "split list");
  const ids = splitList.split("\n").flatMap((line) => line.trim().split(/\s+/, 1).filter(Boolean));

  const annotations: VocAnnotation[] = [];
  const concurrency = 64;
  for (let start = 0; start < ids.length; start += concurrency) {
    const chunk = ids.slice(start, start + concurrency).map(async (id) => {
      const file = join(root, "Annotations", `${id}.xml`);
      const xml = await readTextFile(file, `annotation file for "${id}" (listed in ${splitFile})`);
      return parseVocAnnotation(xml, file, classNames);
    });
    // Settle the whole chunk so that, of several bad files, the first listed is the one reported.
    for (const result of await Promise.allSettled(chunk)) {
      if (result.status === "rejected") throw result.reason;
      annotations.push(result.value);
    }
  }

  const files = ids.map((id) => ({ file: join(root, "JPEGImages", `${id}.jpg`), record: `"${id}" in ${splitFile}` }));
  const { present, warnings } = await checkImageFiles(files, options.missingImages ?? "error");
  const turnedByExif = await countTurnedImages(files.filter((_, index) => present[index]).map(({ file }) => file));
  const samples = annotations.flatMap((annotation, index): DetectionSample[] => {
    if (!present[index]) return [];
    const { width, height, boxes, labels, difficult } = annotation;
    const file = elementAt(files, index).file;
    return [
      {
        id: index + 1, // VOC ids are strings ("2008_000123"); COCO-style evaluation needs numbers
        name: elementAt(ids, index),
        width,
        height,
        boxes,
        labels,
        iscrowd: boxes.map(() => false),
        difficult,
        areas: boxes.map(boxArea),
        loadImage: () => decodeImageFile(file, { width, height }),
      },
    ];
  });
  return {
    kind: "voc",
    split,
    classNames,
    samples,
    warnings: [...annotations.flatMap((annotation) => annotation.warnings), ...warnings],
    turnedByExif,
  };
}
