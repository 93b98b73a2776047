/**
 * COCO box evaluation, step for step as pycocotools' `COCOeval` (iouType "bbox", default Params):
 * `evaluate` → `computeIoU` + `evaluateImg`, then `accumulate`, then `summarize`. Function and
 * variable names follow pycocotools' so the two can be read side by side; the numbers agree with
 * it to rounding (see test/fixtures/eval/make_eval_goldens.py).
 */
import {
  type Box,
  type CocoDetection,
  type CocoGroundTruth,
  validateEvaluationInput,
} from "./input.js";

export {
  type Box,
  type CocoAnnotation,
  type CocoCategory,
  type CocoDetection,
  type CocoGroundTruth,
  type CocoImage,
  EvaluationInputError,
} from "./input.js";

/** `COCOeval.stats`, by name. -1 where no category has ground truth in that setting. */
export interface CocoStats {
  readonly AP: number;
  readonly AP50: number;
  readonly AP75: number;
  readonly APs: number;
  readonly APm: number;
  readonly APl: number;
  readonly AR1: number;
  readonly AR10: number;
  readonly AR100: number;
  readonly ARs: number;
  readonly ARm: number;
  readonly ARl: number;
}

// Params.setDetParams. The thresholds are built as np.linspace builds them, bit for bit, because
// recalls and IoUs are compared against them exactly (0.8999999999999999, not 0.9).
const IOU_THRESHOLDS = Array.from({ length: 10 }, (_, i) => (i === 9 ? 0.95 : i * ((0.95 - 0.5) / 9) + 0.5));
const RECALL_THRESHOLDS = Array.from({ length: 101 }, (_, i) => (i === 100 ? 1 : i * (1 / 100)));
const LARGEST_MAX_DET = 100;
const MAX_DETS = [1, 10, LARGEST_MAX_DET] as const;
const AREA_RANGES = {
  all: [0 ** 2, 1e5 ** 2],
  small: [0 ** 2, 32 ** 2],
  medium: [32 ** 2, 96 ** 2],
  large: [96 ** 2, 1e5 ** 2],
} as const;
type AreaLabel = keyof typeof AREA_RANGES;
const AREA_LABELS = Object.keys(AREA_RANGES) as AreaLabel[];
/** np.spacing(1) */
const EPS = Number.EPSILON;

interface GroundTruthObject {
  readonly id: number;
  readonly bbox: Box;
  readonly area: number;
  readonly iscrowd: boolean;
}

interface DetectedObject {
  readonly id: number;
  readonly bbox: Box;
  /** Box area, as `COCO.loadRes` sets it. */
  readonly area: number;
  readonly score: number;
}

/** One entry of `COCOeval.evalImgs`: an image × category × area range, at the largest maxDet. */
interface ImageEvaluation {
  readonly dtScores: readonly number[];
  /** [T][D]: id of the matched ground truth, 0 when unmatched. */
  readonly dtMatches: readonly (readonly number[])[];
  readonly dtIgnore: readonly (readonly boolean[])[];
  readonly gtIgnore: readonly boolean[];
}

/** COCOeval.evaluate: per image × category × area range results, indexed [category][area][image]. */
function evaluate(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[]) {
  // COCOeval.__init__ and _prepare.
  const imgIds = [...new Set(groundTruth.images.map((image) => image.id))].sort((a, b) => a - b);
  const catIds = [...new Set(groundTruth.categories.map((category) => category.id))].sort((a, b) => a - b);
  const key = (imageId: number, categoryId: number) => `${imageId}/${categoryId}`;
  const gts = new Map<string, GroundTruthObject[]>();
  const dts = new Map<string, DetectedObject[]>();
  for (const annotation of groundTruth.annotations) {
    const list = gts.get(key(annotation.image_id, annotation.category_id)) ?? [];
    const { id, bbox, area, iscrowd } = annotation;
    list.push({ id, bbox, area, iscrowd: Boolean(iscrowd) });
    gts.set(key(annotation.image_id, annotation.category_id), list);
  }
  detections.forEach((detection, index) => {
    const list = dts.get(key(detection.image_id, detection.category_id)) ?? [];
    const [, , width, height] = detection.bbox;
    // COCO.loadRes numbers results from 1.
    list.push({ id: index + 1, bbox: detection.bbox, area: width * height, score: detection.score });
    dts.set(key(detection.image_id, detection.category_id), list);
  });

  const evalImgs = catIds.map(() => AREA_LABELS.map(() => [] as (ImageEvaluation | null)[]));
  catIds.forEach((catId, k) => {
    for (const imgId of imgIds) {
      const gt = gts.get(key(imgId, catId)) ?? [];
      // np.argsort(-score, kind="mergesort"): stable, as Array.prototype.sort is.
      const dt = [...(dts.get(key(imgId, catId)) ?? [])].sort((p, q) => q.score - p.score).slice(0, LARGEST_MAX_DET);
      const ious = computeIoU(gt, dt);
      AREA_LABELS.forEach((label, a) => {
        evalImgs[k]![a]!.push(evaluateImg(gt, dt, ious, AREA_RANGES[label], LARGEST_MAX_DET));
      });
    }
  });
  return { catIds, evalImgs };
}

/**
 * COCOeval.computeIoU via maskUtils.iou (bbIou), [D][G]. A crowd region's IoU is its overlap over
 * the detection's area: a detection inside the crowd matches it fully.
 */
function computeIoU(gt: readonly GroundTruthObject[], dt: readonly DetectedObject[]): number[][] {
  return dt.map(({ bbox: [dx, dy, dw, dh] }) =>
    gt.map(({ bbox: [gx, gy, gw, gh], iscrowd }) => {
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) return 0;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) return 0;
      const intersection = w * h;
      const union = iscrowd ? dw * dh : dw * dh + gw * gh - intersection;
      return intersection / union;
    }),
  );
}

/**
 * COCOeval.evaluateImg. `dt` comes sorted by score and cut to the largest maxDet, `ious` is
 * computeIoU(gt, dt) with gt in its original order.
 */
function evaluateImg(
  gtUnsorted: readonly GroundTruthObject[],
  dt: readonly DetectedObject[],
  iousUnsorted: readonly (readonly number[])[],
  [areaMin, areaMax]: readonly [number, number],
  maxDet: number,
): ImageEvaluation | null {
  if (gtUnsorted.length === 0 && dt.length === 0) return null;
  const outsideArea = (area: number) => area < areaMin || area > areaMax;

  // Ignored ground truth last (a stable sort), so a detection prefers a regular match.
  const ignoreFlags = gtUnsorted.map((g) => g.iscrowd || outsideArea(g.area));
  const gtind = gtUnsorted.map((_, i) => i).sort((i, j) => Number(ignoreFlags[i]) - Number(ignoreFlags[j]));
  const gt = gtind.map((i) => gtUnsorted[i]!);
  const gtIg = gtind.map((i) => ignoreFlags[i]!);
  const ious = iousUnsorted.map((row) => gtind.map((i) => row[i]!));
  const detections = dt.slice(0, maxDet);

  const gtm = IOU_THRESHOLDS.map(() => new Array<number>(gt.length).fill(0));
  const dtm = IOU_THRESHOLDS.map(() => new Array<number>(detections.length).fill(0));
  const dtIg = IOU_THRESHOLDS.map(() => new Array<boolean>(detections.length).fill(false));
  IOU_THRESHOLDS.forEach((t, tind) => {
    detections.forEach((d, dind) => {
      // Best match so far (m = -1: unmatched). A later gt with an equal IoU replaces an earlier one.
      // (pycocotools starts from min(t, 1 − 1e-10); no threshold here comes near 1.)
      let iou = t;
      let m = -1;
      for (let gind = 0; gind < gt.length; gind++) {
        // A matched gt is taken, unless it is a crowd region, which absorbs any number of detections.
        if (gtm[tind]![gind]! > 0 && !gt[gind]!.iscrowd) continue;
        // Already matched a regular gt and only ignored ones are left: stop.
        if (m > -1 && !gtIg[m] && gtIg[gind]) break;
        if (ious[dind]![gind]! < iou) continue;
        iou = ious[dind]![gind]!;
        m = gind;
      }
      if (m === -1) return;
      dtIg[tind]![dind] = gtIg[m]!;
      dtm[tind]![dind] = gt[m]!.id;
      gtm[tind]![m] = d.id;
    });
  });
  // Unmatched detections outside the area range are not counted against it. As in pycocotools, a
  // match to ground truth id 0 reads as "unmatched" here and in accumulate (its matches store ids).
  detections.forEach((d, dind) => {
    if (!outsideArea(d.area)) return;
    for (const tind of IOU_THRESHOLDS.keys()) if (dtm[tind]![dind] === 0) dtIg[tind]![dind] = true;
  });
  return { dtScores: detections.map((d) => d.score), dtMatches: dtm, dtIgnore: dtIg, gtIgnore: gtIg };
}

/** np.searchsorted(sorted, value, side="left") */
function searchSortedLeft(sorted: ArrayLike<number>, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** COCOeval.accumulate: precision [T][R][K][A][M] and recall [T][K][A][M], -1 where a setting has no gt. */
function accumulate(catIds: readonly number[], evalImgs: readonly (readonly (ImageEvaluation | null)[])[][]) {
  const [T, R, K] = [IOU_THRESHOLDS.length, RECALL_THRESHOLDS.length, catIds.length];
  const [A, M] = [AREA_LABELS.length, MAX_DETS.length];
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  const precisionAt = (t: number, r: number, k: number, a: number, m: number) =>
    (((t * R + r) * K + k) * A + a) * M + m;
  const recallAt = (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m;

  for (let k = 0; k < K; k++) {
    for (let a = 0; a < A; a++) {
      const E = evalImgs[k]![a]!.filter((e): e is ImageEvaluation => e !== null);
      const npig = E.reduce((count, e) => count + e.gtIgnore.filter((ignored) => !ignored).length, 0);
      if (npig === 0) continue;
      MAX_DETS.forEach((maxDet, m) => {
        // np.concatenate of each image's first maxDet detections, in image order…
        const dtScores: number[] = [];
        const dtm = IOU_THRESHOLDS.map(() => [] as number[]);
        const dtIg = IOU_THRESHOLDS.map(() => [] as boolean[]);
        for (const e of E) {
          for (let d = 0; d < Math.min(maxDet, e.dtScores.length); d++) {
            dtScores.push(e.dtScores[d]!);
            for (let t = 0; t < T; t++) {
              dtm[t]!.push(e.dtMatches[t]![d]!);
              dtIg[t]!.push(e.dtIgnore[t]![d]!);
            }
          }
        }
        // …ordered by a stable sort on score (Array.prototype.sort is stable, like mergesort).
        const inds = dtScores.map((_, i) => i).sort((i, j) => dtScores[j]! - dtScores[i]!);
        const nd = inds.length;

        for (let t = 0; t < T; t++) {
          const rc = new Float64Array(nd);
          const pr = new Float64Array(nd);
          let tp = 0;
          let fp = 0;
          inds.forEach((i, q) => {
            if (!dtIg[t]![i]) {
              if (dtm[t]![i] !== 0) tp++;
              else fp++;
            }
            rc[q] = tp / npig;
            pr[q] = tp / (fp + tp + EPS);
          });
          recall[recallAt(t, k, a, m)] = nd ? rc[nd - 1]! : 0;
          // Precision envelope: each point takes the best precision at any higher recall.
          for (let i = nd - 1; i > 0; i--) if (pr[i]! > pr[i - 1]!) pr[i - 1] = pr[i]!;
          RECALL_THRESHOLDS.forEach((threshold, r) => {
            const pi = searchSortedLeft(rc, threshold);
            precision[precisionAt(t, r, k, a, m)] = pi < nd ? pr[pi]! : 0; // recall never got there
          });
        }
      });
    }
  }
  return { precision, recall, precisionAt, recallAt, K };
}

/** COCOeval.summarize (_summarizeDets): means over the settings that have ground truth. */
function summarize({ precision, recall, precisionAt, recallAt, K }: ReturnType<typeof accumulate>): CocoStats {
  const average = (ap: boolean, areaRng: AreaLabel, maxDets: (typeof MAX_DETS)[number], iouThr?: 0.5 | 0.75) => {
    const a = AREA_LABELS.indexOf(areaRng);
    const m = MAX_DETS.indexOf(maxDets);
    const thresholds = iouThr === undefined ? [...IOU_THRESHOLDS.keys()] : [IOU_THRESHOLDS.indexOf(iouThr)];
    const values: number[] = [];
    for (const t of thresholds) {
      for (let k = 0; k < K; k++) {
        if (ap) for (let r = 0; r < RECALL_THRESHOLDS.length; r++) values.push(precision[precisionAt(t, r, k, a, m)]!);
        else values.push(recall[recallAt(t, k, a, m)]!);
      }
    }
    const valid = values.filter((value) => value > -1);
    return valid.length === 0 ? -1 : valid.reduce((sum, value) => sum + value, 0) / valid.length;
  };
  return {
    AP: average(true, "all", 100),
    AP50: average(true, "all", 100, 0.5),
    AP75: average(true, "all", 100, 0.75),
    APs: average(true, "small", 100),
    APm: average(true, "medium", 100),
    APl: average(true, "large", 100),
    AR1: average(false, "all", 1),
    AR10: average(false, "all", 10),
    AR100: average(false, "all", 100),
    ARs: average(false, "small", 100),
    ARm: average(false, "medium", 100),
    ARl: average(false, "large", 100),
  };
}

/**
 * The 12 COCO box metrics of `detections` against `groundTruth`, as pycocotools'
 * `COCOeval(gt, dt, "bbox")` evaluate/accumulate/summarize computes them. Throws
 * `EvaluationInputError` for malformed input (unknown image or category, non-finite numbers, …).
 */
export function evaluateCoco(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[]): CocoStats {
  validateEvaluationInput(groundTruth, detections);
  const { catIds, evalImgs } = evaluate(groundTruth, detections);
  return summarize(accumulate(catIds, evalImgs));
}
