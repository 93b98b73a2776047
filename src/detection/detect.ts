/**
 * Detections as people read them: one image in, `[{box, label, class, score}]` out, best first, the
 * boxes in the image's own pixels. `detc predict --json`, the library and the web export all answer
 * with this, so the three agree field for field.
 */
import type { DetectorSpec } from "../check/detector-spec.js";
import type { Box, RgbImage } from "../data/dataset.js";
import type { FasterRCNN } from "./faster-rcnn.js";

export interface LabelledDetection {
  /** x1, y1, x2, y2 in the image's pixels. */
  readonly box: Box;
  /** 1..K (0 is the background). */
  readonly label: number;
  /** The spec's class name, or `class N` when the spec gives only a count. */
  readonly class: string;
  readonly score: number;
}

export interface DetectOptions {
  /** Detections scoring below this are left out (default {@link DEFAULT_MIN_SCORE}). */
  readonly minScore?: number;
}

/** `detc predict`'s default `--min-score`. */
export const DEFAULT_MIN_SCORE = 0.5;

/** The name of a label: the spec's class name, or `class N`. */
export function className(spec: DetectorSpec, label: number): string {
  return spec.classes.names?.[label - 1] ?? `class ${label}`;
}

/** The detections on one RGB image, by decreasing score. */
export async function detect(model: FasterRCNN, image: RgbImage, options: DetectOptions = {}): Promise<LabelledDetection[]> {
  const minScore = options.minScore ?? DEFAULT_MIN_SCORE;
  const [detection] = await model.predict([image]);
  if (detection === undefined) throw new Error("the detector returned no result for the image");
  const found: LabelledDetection[] = [];
  detection.scores.forEach((score, i) => {
    const box = detection.boxes[i];
    const label = detection.labels[i];
    if (score < minScore || box === undefined || label === undefined) return;
    found.push({ box, label, class: className(model.spec, label), score });
  });
  return found;
}
