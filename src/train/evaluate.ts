/** Runs a model over a dataset and scores it with COCO's metrics (and VOC AP@0.5); an aborted `signal` stops it between batches. */
import type { DetectionDataset } from "../data/dataset.js";
import { toCocoGroundTruth } from "../data/dataset.js";
import type { FasterRCNN, Detection } from "../detection/faster-rcnn.js";
import { evaluateCoco, type CocoStats } from "../eval/coco-eval.js";
import type { CocoDetection } from "../eval/input.js";
import { evaluateVoc } from "../eval/voc-ap.js";

export interface EvaluationResult extends CocoStats {
  /** Pascal VOC mean AP at IoU 0.5. */
  readonly VOC_AP50: number;
}

export function cocoDetections(imageId: number, detection: Detection): CocoDetection[] {
  return detection.boxes.map(([x1, y1, x2, y2], i) => ({
    image_id: imageId,
    category_id: detection.labels[i]!,
    bbox: [x1, y1, x2 - x1, y2 - y1],
    score: detection.scores[i]!,
  }));
}

export async function evaluateModel(
  model: FasterRCNN,
  dataset: DetectionDataset,
  batchSize: number,
  onProgress: (done: number, total: number) => void = () => {},
  signal?: AbortSignal,
): Promise<EvaluationResult> {
  const detections: CocoDetection[] = [];
  const samples = dataset.samples;
  for (let start = 0; start < samples.length; start += batchSize) {
    signal?.throwIfAborted();
    const batch = samples.slice(start, start + batchSize);
    const images = await Promise.all(batch.map((s) => s.loadImage()));
    const predictions = await model.predict(images);
    predictions.forEach((p, i) => detections.push(...cocoDetections(batch[i]!.id, p)));
    onProgress(Math.min(start + batchSize, samples.length), samples.length);
  }
  const groundTruth = toCocoGroundTruth(dataset);
  return { ...evaluateCoco(groundTruth, detections), VOC_AP50: evaluateVoc(groundTruth, detections).mAP };
}
