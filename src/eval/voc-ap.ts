/**
 * Pascal VOC average precision at IoU > 0.5, as the devkit's `voc_eval.py` (the py-faster-rcnn /
 * Detectron port of VOCevaldet.m) computes it with the VOC2010+ all-point interpolation.
 */
import {
  type Box,
  type CocoAnnotation,
  type CocoDetection,
  type CocoGroundTruth,
  EvaluationInputError,
  validateEvaluationInput,
} from "./input.js";

export interface VocAnnotation extends CocoAnnotation {
  /** Neither a hit nor a miss: a detection matching it counts for nothing. */
  readonly difficult?: 0 | 1 | boolean;
}

export interface VocGroundTruth extends CocoGroundTruth {
  readonly annotations: readonly VocAnnotation[];
}

export interface VocCategoryAP {
  readonly categoryId: number;
  /** -1 when the category has no ground truth that is neither difficult nor crowd. */
  readonly ap: number;
}

export interface VocResult {
  /** Mean of the categories' APs, skipping the -1s; -1 if all are. */
  readonly mAP: number;
  /** One entry per category, in ascending id order. */
  readonly perCategory: readonly VocCategoryAP[];
}

const IOU_THRESHOLD = 0.5;

/**
 * The devkit's boxes are inclusive pixel corners (width = x2 − x1 + 1), COCO's are [x, y, w, h]:
 * x2 = x + w − 1 makes the devkit's +1 arithmetic give back w exactly.
 */
const corners = ([x, y, w, h]: Box) => [x, y, x + w - 1, y + h - 1] as const;

/** voc_ap(rec, prec, use_07_metric=False): area under the precision envelope, summed where recall changes. */
function vocAp(rec: readonly number[], prec: readonly number[]): number {
  const mrec = [0, ...rec, 1];
  const mpre = [0, ...prec, 0];
  for (let i = mpre.length - 1; i > 0; i--) mpre[i - 1] = Math.max(mpre[i - 1]!, mpre[i]!);
  let ap = 0;
  for (let i = 0; i + 1 < mrec.length; i++) if (mrec[i + 1] !== mrec[i]) ap += (mrec[i + 1]! - mrec[i]!) * mpre[i + 1]!;
  return ap;
}

interface ClassRecord {
  readonly bbox: (readonly [number, number, number, number])[];
  readonly difficult: boolean[];
  readonly det: boolean[];
}

/** voc_eval for one class; -1 where the devkit would divide by zero positives. */
function vocEval(annotations: readonly VocAnnotation[], detections: readonly CocoDetection[]): number {
  const classRecs = new Map<number, ClassRecord>();
  let npos = 0;
  for (const annotation of annotations) {
    const record = classRecs.get(annotation.image_id) ?? { bbox: [], difficult: [], det: [] };
    // VOC has no crowd regions; a COCO crowd region is best scored like a difficult object.
    const difficult = Boolean(annotation.difficult) || Boolean(annotation.iscrowd);
    record.bbox.push(corners(annotation.bbox));
    record.difficult.push(difficult);
    record.det.push(false);
    if (!difficult) npos++;
    classRecs.set(annotation.image_id, record);
  }
  if (npos === 0) return -1;

  // Highest confidence first; ties keep input order (the devkit's np.argsort leaves them unspecified).
  const sorted = [...detections].sort((a, b) => b.score - a.score);
  const tp = new Array<number>(sorted.length).fill(0);
  const fp = new Array<number>(sorted.length).fill(0);
  sorted.forEach((detection, d) => {
    const R = classRecs.get(detection.image_id) ?? { bbox: [], difficult: [], det: [] };
    const bb = corners(detection.bbox);
    // np.max / np.argmax (first maximum). A 0/0 overlap needs an empty detection, whose overlaps are
    // all 0 or NaN: a false positive either way, so NaN needs no special case.
    let ovmax = -Infinity;
    let jmax = -1;
    R.bbox.forEach((BBGT, j) => {
      const ixmin = Math.max(BBGT[0], bb[0]);
      const iymin = Math.max(BBGT[1], bb[1]);
      const ixmax = Math.min(BBGT[2], bb[2]);
      const iymax = Math.min(BBGT[3], bb[3]);
      const iw = Math.max(ixmax - ixmin + 1, 0);
      const ih = Math.max(iymax - iymin + 1, 0);
      const inters = iw * ih;
      const uni =
        (bb[2] - bb[0] + 1) * (bb[3] - bb[1] + 1) + (BBGT[2] - BBGT[0] + 1) * (BBGT[3] - BBGT[1] + 1) - inters;
      const overlap = inters / uni;
      if (overlap > ovmax) [ovmax, jmax] = [overlap, j];
    });
    if (ovmax > IOU_THRESHOLD) {
      if (R.difficult[jmax]) return;
      if (!R.det[jmax]) {
        tp[d] = 1;
        R.det[jmax] = true;
      } else fp[d] = 1;
    } else fp[d] = 1;
  });

  let tpSum = 0;
  let fpSum = 0;
  const rec: number[] = [];
  const prec: number[] = [];
  sorted.forEach((_, d) => {
    tpSum += tp[d]!;
    fpSum += fp[d]!;
    rec.push(tpSum / npos);
    // Guards the division when the first detections all hit difficult objects.
    prec.push(tpSum / Math.max(tpSum + fpSum, Number.EPSILON));
  });
  return vocAp(rec, prec);
}

/**
 * Pascal VOC AP@0.5 per category and their mean. Difficult objects (and crowd regions) are
 * neither required nor penalised. Throws `EvaluationInputError` for malformed input.
 */
export function evaluateVoc(groundTruth: VocGroundTruth, detections: readonly CocoDetection[]): VocResult {
  validateEvaluationInput(groundTruth, detections);
  groundTruth.annotations.forEach((annotation, index) => {
    if (![undefined, 0, 1, false, true].includes(annotation.difficult)) {
      throw new EvaluationInputError(
        `annotations[${index}] (id ${annotation.id})`,
        `difficult must be 0, 1, true or false, got ${JSON.stringify(annotation.difficult)}`,
      );
    }
  });
  const categoryIds = [...new Set(groundTruth.categories.map((category) => category.id))].sort((a, b) => a - b);
  const perCategory = categoryIds.map((categoryId) => ({
    categoryId,
    ap: vocEval(
      groundTruth.annotations.filter((annotation) => annotation.category_id === categoryId),
      detections.filter((detection) => detection.category_id === categoryId),
    ),
  }));
  const scored = perCategory.filter((category) => category.ap !== -1);
  const mAP = scored.length === 0 ? -1 : scored.reduce((sum, category) => sum + category.ap, 0) / scored.length;
  return { mAP, perCategory };
}
