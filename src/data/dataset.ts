/**
 * The types every dataset kind (COCO, Pascal VOC, synthetic) is loaded into, and the COCO-style
 * ground truth the evaluators score against.
 *
 * Conventions (torchvision's):
 * - boxes are `[x1, y1, x2, y2]` in continuous pixel coordinates of the stored image: the pixel
 *   in column 0 spans x ∈ [0, 1), so a box covering the whole image is `[0, 0, width, height]`;
 * - labels are 1..K, index `label - 1` into `classNames`; 0 is reserved for the background.
 */

import { InputError } from "../util/input-error.js";
import { elementAt } from "../util/element-at.js";

/** `[x1, y1, x2, y2]` in pixels. */
export type Box = readonly [x1: number, y1: number, x2: number, y2: number];

/**
 * 8-bit RGB pixels, row-major HWC: channel `c` of pixel (x, y) is `data[(y * width + x) * 3 + c]`.
 * Kept as bytes (not floats) because that is 4× smaller and what decoders produce; the transforms
 * turn it into the float image the model reads.
 */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

export interface DetectionSample {
  /** Unique within the dataset; COCO keeps the file's image id so results can be matched back. */
  readonly id: number;
  /** A human-readable name: the image's file name, VOC id, or a synthetic name. */
  readonly name: string;
  readonly width: number;
  readonly height: number;
  readonly boxes: readonly Box[];
  /** Parallel to `boxes`, each in 1..K. */
  readonly labels: readonly number[];
  /** Parallel to `boxes`: COCO crowd regions, kept for evaluation but not trained on. */
  readonly iscrowd: readonly boolean[];
  /** Parallel to `boxes`: VOC's "difficult" objects, neither hits nor misses in VOC AP. */
  readonly difficult: readonly boolean[];
  /** Parallel to `boxes`: COCO's `area` (the mask's) when the file gives one, else the box's. */
  readonly areas: readonly number[];
  /** Decodes the image; rejects with a `DatasetError` naming the file if it is missing or corrupt. */
  loadImage(): Promise<RgbImage>;
}

/** A problem that did not stop loading (a skipped box or image), returned instead of printed. */
export interface DatasetWarning {
  readonly file: string;
  /** The offending record, e.g. `annotations[17] (id 90412)` or `object #2 ("dog")`. */
  readonly record: string;
  readonly message: string;
}

export interface DetectionDataset {
  readonly kind: "coco" | "voc" | "synthetic";
  /** "train", "val", or VOC's ImageSets name ("trainval", "test", ...). */
  readonly split: string;
  /** `classNames[label - 1]` names label `label`; the background is not listed. */
  readonly classNames: readonly string[];
  readonly samples: readonly DetectionSample[];
  readonly warnings: readonly DatasetWarning[];
  /** Images whose EXIF orientation turns them upright when decoded (read from files; absent: none). */
  readonly turnedByExif?: number;
}

/**
 * Warnings grouped per file and consequence ("box skipped", "image skipped"), with counts and the
 * first few records: a dataset with thousands of bad boxes gets a few lines, not thousands.
 */
export function summarizeWarnings(warnings: readonly DatasetWarning[], examples = 3): string[] {
  const groups = new Map<string, DatasetWarning[]>();
  for (const warning of warnings) {
    const consequence = warning.message.split("; ").at(-1)!; // "box skipped"
    const key = `${warning.file}\0${consequence}`;
    groups.set(key, [...(groups.get(key) ?? []), warning]);
  }
  return [...groups].map(([key, group]) => {
    const [file, consequence] = key.split("\0") as [string, string];
    const [noun, ...rest] = consequence.split(" ");
    const counted = group.length === 1 ? consequence : [`${noun}${noun!.endsWith("x") ? "es" : "s"}`, ...rest].join(" ");
    const shown = group.slice(0, examples).map((w) => `  ${w.record}: ${w.message.split("; ").slice(0, -1).join("; ") || w.message}`);
    const more = group.length > examples ? [`  … and ${group.length - examples} more`] : [];
    return [`${file}: ${group.length} ${counted}`, ...shown, ...more].join("\n");
  });
}

/** Data that cannot be used as given, with the file and the record at fault. */
export class DatasetError extends InputError {
  override readonly name = "DatasetError";

  constructor(
    readonly file: string,
    readonly record: string | undefined,
    readonly problem: string,
  ) {
    super(record === undefined ? `${file}: ${problem}` : `${file}: ${record}: ${problem}`);
  }
}

/**
 * What training iterates: the samples with at least one non-crowd box, as torchvision's reference
 * drops images without usable annotations from its training set. Evaluation keeps them all.
 */
export function trainingSubset(dataset: DetectionDataset): DetectionDataset {
  return { ...dataset, samples: dataset.samples.filter((sample) => sample.iscrowd.some((crowd) => !crowd)) };
}

export interface CocoGroundTruthImage {
  readonly id: number;
  readonly file_name: string;
  readonly width: number;
  readonly height: number;
}

export interface CocoGroundTruthAnnotation {
  readonly id: number;
  readonly image_id: number;
  /** The label (1..K), not the source file's category id. */
  readonly category_id: number;
  /** `[x, y, width, height]` in pixels. */
  readonly bbox: readonly [number, number, number, number];
  readonly area: number;
  readonly iscrowd: 0 | 1;
  readonly difficult: 0 | 1;
}

export interface CocoGroundTruthCategory {
  readonly id: number;
  readonly name: string;
}

export interface CocoGroundTruth {
  readonly images: readonly CocoGroundTruthImage[];
  readonly annotations: readonly CocoGroundTruthAnnotation[];
  readonly categories: readonly CocoGroundTruthCategory[];
}

/**
 * The dataset as COCO-format ground truth. Category ids are the labels, so a model's predicted
 * labels are directly comparable; annotation ids run 1..N in sample order.
 */
export function toCocoGroundTruth(dataset: DetectionDataset): CocoGroundTruth {
  const annotations: CocoGroundTruthAnnotation[] = [];
  for (const sample of dataset.samples) {
    sample.boxes.forEach(([x1, y1, x2, y2], index) => {
      annotations.push({
        id: annotations.length + 1,
        image_id: sample.id,
        category_id: elementAt(sample.labels, index),
        bbox: [x1, y1, x2 - x1, y2 - y1],
        area: elementAt(sample.areas, index),
        iscrowd: sample.iscrowd[index] ? 1 : 0,
        difficult: sample.difficult[index] ? 1 : 0,
      });
    });
  }
  return {
    images: dataset.samples.map(({ id, name, width, height }) => ({ id, file_name: name, width, height })),
    annotations,
    categories: dataset.classNames.map((name, index) => ({ id: index + 1, name })),
  };
}

/** Annotation tools often put an edge a pixel past the border; that much is clipped silently. */
export const CLIP_TOLERANCE_PX = 1;

/**
 * The box clipped to a `width`×`height` image, or why it cannot be used: degenerate, or reaching
 * more than `CLIP_TOLERANCE_PX` outside the image (a sign of a wrong box, not a rounding slip).
 * Boxes with x2 < x1 or y2 < y1 are the caller's to reject: they mean a misread format.
 */
export function fitBoxToImage(box: Box, width: number, height: number): { box: Box } | { problem: string } {
  const [x1, y1, x2, y2] = box;
  if (x2 <= x1 || y2 <= y1) return { problem: `box ${formatBox(box)} has zero area` };
  const overshoot = Math.max(-x1, -y1, x2 - width, y2 - height);
  if (overshoot > CLIP_TOLERANCE_PX) {
    const where = `${round(overshoot)} px outside the ${width}×${height} image (more than ${CLIP_TOLERANCE_PX} px)`;
    return { problem: `box ${formatBox(box)} reaches ${where}` };
  }
  const clipped: Box = [Math.max(0, x1), Math.max(0, y1), Math.min(width, x2), Math.min(height, y2)];
  if (clipped[2] <= clipped[0] || clipped[3] <= clipped[1]) {
    return { problem: `box ${formatBox(box)} has zero area inside the ${width}×${height} image` };
  }
  return { box: clipped };
}

const round = (value: number): number => Math.round(value * 100) / 100;

/** `[x1, y1, x2, y2]` for messages. */
export function formatBox(box: readonly number[]): string {
  return `[${box.map(round).join(", ")}]`;
}

/** The area of a box, for formats without a separate object area. */
export function boxArea([x1, y1, x2, y2]: Box): number {
  return (x2 - x1) * (y2 - y1);
}
