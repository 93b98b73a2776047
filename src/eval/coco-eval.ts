/**
 * COCO box evaluation, step for step as pycocotools' `COCOeval` (iouType "bbox", default Params):
 * `evaluate` → `computeIoU` + `evaluateImg`, then `accumulate`, then `summarize`. Function and
 * variable names follow pycocotools' so the two can be read side by side; the numbers are
 * pycocotools' to the last bit (see test/fixtures/eval/make_eval_goldens.py and bench/eval.ts).
 *
 * Where pycocotools keeps a dict per object and per image × category × area range, this keeps
 * typed arrays: the ground truth and the detections as columns (`COCO`, `COCO.loadRes`), and the
 * per-image results of one category at a time, accumulated into precision and recall before the
 * next category is evaluated. A val2017-sized case then takes a few tens of megabytes, not a gigabyte.
 */
import {
  type CocoDetection,
  type CocoGroundTruth,
  requireArray,
  validateDetection,
  validateGroundTruth,
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

const [T, R, A, M] = [IOU_THRESHOLDS.length, RECALL_THRESHOLDS.length, AREA_LABELS.length, MAX_DETS.length];

/** What `COCO(annotation_file)` keeps of the ground truth that box evaluation reads, one typed array per field. */
export interface CocoGroundTruthColumns {
  /** Params.imgIds and Params.catIds: every id, ascending. */
  readonly imgIds: readonly number[];
  readonly catIds: readonly number[];
  /** Where an id is in imgIds (catIds). */
  readonly imageIndexOf: ReadonlyMap<number, number>;
  readonly categoryIndexOf: ReadonlyMap<number, number>;
  /** Number of annotations; the arrays below hold one entry (bbox: four) per annotation. */
  readonly count: number;
  readonly id: Float64Array;
  readonly imageIndex: Int32Array;
  readonly categoryIndex: Int32Array;
  /** x, y, width, height of annotation n at 4n…4n+3. */
  readonly bbox: Float64Array;
  /** Decides the area range (COCO's is the mask's area, not the box's). */
  readonly area: Float64Array;
  /** gt["ignore"] in COCOeval._prepare. */
  readonly iscrowd: Uint8Array;
}

const positions = (ids: readonly number[]) => new Map(ids.map((id, index) => [id, index]));

/** COCO(annotation_file): the ground truth, checked, as columns. Throws `EvaluationInputError`. */
export function loadGroundTruth(groundTruth: CocoGroundTruth): CocoGroundTruthColumns {
  const { imageIds, categoryIds } = validateGroundTruth(groundTruth);
  const imgIds = [...imageIds].sort((a, b) => a - b);
  const catIds = [...categoryIds].sort((a, b) => a - b);
  const count = groundTruth.annotations.length;
  const columns = {
    imgIds,
    catIds,
    imageIndexOf: positions(imgIds),
    categoryIndexOf: positions(catIds),
    count,
    id: new Float64Array(count),
    imageIndex: new Int32Array(count),
    categoryIndex: new Int32Array(count),
    bbox: new Float64Array(4 * count),
    area: new Float64Array(count),
    iscrowd: new Uint8Array(count),
  };
  groundTruth.annotations.forEach((annotation, n) => {
    columns.id[n] = annotation.id;
    // Both ids were checked to be in the ground truth's lists.
    columns.imageIndex[n] = columns.imageIndexOf.get(annotation.image_id) ?? -1;
    columns.categoryIndex[n] = columns.categoryIndexOf.get(annotation.category_id) ?? -1;
    columns.bbox.set(annotation.bbox, 4 * n);
    columns.area[n] = annotation.area;
    columns.iscrowd[n] = annotation.iscrowd ? 1 : 0;
  });
  return columns;
}

function resized<T extends Int32Array | Float64Array>(array: T, into: T): T {
  into.set(array);
  return into;
}

/**
 * COCO.loadRes for box results: each detection checked against the ground truth and appended to
 * growable columns, so a results file never has to exist as one object per detection. A
 * detection's id is its position + 1 and its area its box's width × height, as loadRes sets them.
 */
export class CocoResults {
  count = 0;
  imageIndex = new Int32Array(1024);
  categoryIndex = new Int32Array(1024);
  /** x, y, width, height of detection n at 4n…4n+3. */
  bbox = new Float64Array(4 * 1024);
  score = new Float64Array(1024);

  constructor(readonly cocoGt: CocoGroundTruthColumns) {}

  /** Checks `detection` (`detections[index]` in an error) and appends it. Throws `EvaluationInputError`. */
  add(detection: unknown, index: number = this.count): void {
    const { imageIndexOf, categoryIndexOf } = this.cocoGt;
    validateDetection(detection, index, { imageIds: imageIndexOf, categoryIds: categoryIndexOf });
    if (this.count === this.score.length) {
      const capacity = 2 * this.count;
      this.imageIndex = resized(this.imageIndex, new Int32Array(capacity));
      this.categoryIndex = resized(this.categoryIndex, new Int32Array(capacity));
      this.bbox = resized(this.bbox, new Float64Array(4 * capacity));
      this.score = resized(this.score, new Float64Array(capacity));
    }
    const n = this.count++;
    this.imageIndex[n] = imageIndexOf.get(detection.image_id) ?? -1;
    this.categoryIndex[n] = categoryIndexOf.get(detection.category_id) ?? -1;
    this.bbox.set(detection.bbox, 4 * n);
    this.score[n] = detection.score;
  }
}

/** `order` stably sorted on `key` (values 0…keys−1): one pass of a radix sort. */
function countingSort(order: Int32Array, key: Int32Array, keys: number): Int32Array {
  const next = new Int32Array(keys + 1);
  for (const n of order) next[(key[n] ?? 0) + 1]! += 1;
  for (let k = 0; k < keys; k++) next[k + 1]! += next[k]!;
  const sorted = new Int32Array(order.length);
  for (const n of order) sorted[next[key[n] ?? 0]!++] = n;
  return sorted;
}

/**
 * COCOeval._prepare's `_gts` / `_dts`: positions ordered by category, then image, then input
 * order, and where each category's run starts (`start[k]…start[k+1]`).
 */
function groupByCategoryAndImage(count: number, categoryIndex: Int32Array, imageIndex: Int32Array, K: number, I: number) {
  const order = countingSort(countingSort(Int32Array.from({ length: count }, (_, n) => n), imageIndex, I), categoryIndex, K);
  const start = new Int32Array(K + 1);
  for (const n of order) start[(categoryIndex[n] ?? 0) + 1]! += 1;
  for (let k = 0; k < K; k++) start[k + 1]! += start[k]!;
  return { order, start };
}

/**
 * COCOeval.evalImgs of one category at the largest maxDet: the images that have ground truth or
 * detections of it, in Params.imgIds order, each with its detections by score, cut to
 * maxDets[-1] and laid end to end. Flags of area range a, IoU threshold t and detection j sit at
 * (a × T + t) × stride + j.
 */
interface CategoryEvaluation {
  /** Detections laid end to end. */
  readonly count: number;
  readonly dtScores: Float64Array;
  /** A detection's place among its image's, by score: 0 for the best. */
  readonly dtRank: Uint8Array;
  /**
   * dtMatches ≠ 0: matched to ground truth whose id is not 0. pycocotools stores the matched id,
   * so a match to id 0 reads as unmatched there, and here.
   */
  readonly dtMatched: Uint8Array;
  readonly dtIgnore: Uint8Array;
  readonly stride: number;
  /** Per area range: the ground truth not ignored (gtIgnore == 0), over all the images. */
  readonly npig: Int32Array;
}

/** One image × category: positions of its ground truth (input order) and of its detections (by score, cut). */
interface ImageObjects {
  readonly gt: Int32Array;
  readonly dt: Int32Array;
  /** computeIoU(gt, dt): [D][G]. */
  readonly ious: Float64Array;
}

type Groups = ReturnType<typeof groupByCategoryAndImage>;

/** The run of `order[from, to)` whose objects are on image `imageIndex`, which starts at `from`. */
function imageRun(order: Int32Array, imageIndexOf: Int32Array, from: number, to: number, imageIndex: number): Int32Array {
  let end = from;
  while (end < to && imageIndexOf[order[end] ?? 0] === imageIndex) end++;
  return order.subarray(from, end);
}

/** COCOeval.evaluate for category k: computeIoU and evaluateImg on every image with ground truth or detections of it. */
function evaluate(cocoGt: CocoGroundTruthColumns, gts: Groups, cocoDt: CocoResults, dts: Groups, k: number): CategoryEvaluation {
  const [gtEnd, dtEnd] = [gts.start[k + 1] ?? 0, dts.start[k + 1] ?? 0];
  let [g, d] = [gts.start[k] ?? 0, dts.start[k] ?? 0];
  const stride = dtEnd - d;
  const evaluation = {
    count: 0,
    dtScores: new Float64Array(stride),
    dtRank: new Uint8Array(stride),
    dtMatched: new Uint8Array(A * T * stride),
    dtIgnore: new Uint8Array(A * T * stride),
    stride,
    npig: new Int32Array(A),
  };
  while (g < gtEnd || d < dtEnd) {
    const imageIndex = Math.min(
      g < gtEnd ? (cocoGt.imageIndex[gts.order[g] ?? 0] ?? 0) : Infinity,
      d < dtEnd ? (cocoDt.imageIndex[dts.order[d] ?? 0] ?? 0) : Infinity,
    );
    const gt = imageRun(gts.order, cocoGt.imageIndex, g, gtEnd, imageIndex);
    const detections = imageRun(dts.order, cocoDt.imageIndex, d, dtEnd, imageIndex);
    g += gt.length;
    d += detections.length;
    // np.argsort(-score, kind="mergesort") cut to the largest maxDet: a stable sort, ties in input order.
    const dt = detections.sort((p, q) => (cocoDt.score[q] ?? 0) - (cocoDt.score[p] ?? 0) || p - q).subarray(0, LARGEST_MAX_DET);
    const offset = evaluation.count;
    dt.forEach((n, rank) => {
      evaluation.dtScores[offset + rank] = cocoDt.score[n] ?? 0;
      evaluation.dtRank[offset + rank] = rank;
    });
    const image = { gt, dt, ious: computeIoU(cocoGt, gt, cocoDt, dt) };
    AREA_LABELS.forEach((label, a) => {
      evaluation.npig[a]! += evaluateImg(cocoGt, cocoDt, image, AREA_RANGES[label], evaluation, a * T * stride + offset);
    });
    evaluation.count += dt.length;
  }
  return evaluation;
}

/**
 * COCOeval.computeIoU via maskUtils.iou (bbIou), [D][G]. A crowd region's IoU is its overlap over
 * the detection's area: a detection inside the crowd matches it fully.
 */
function computeIoU(cocoGt: CocoGroundTruthColumns, gt: Int32Array, cocoDt: CocoResults, dt: Int32Array): Float64Array {
  const G = gt.length;
  const ious = new Float64Array(dt.length * G);
  const [gtBox, dtBox] = [cocoGt.bbox, cocoDt.bbox];
  dt.forEach((dn, dind) => {
    const [dx, dy, dw, dh] = [dtBox[4 * dn] ?? 0, dtBox[4 * dn + 1] ?? 0, dtBox[4 * dn + 2] ?? 0, dtBox[4 * dn + 3] ?? 0];
    for (let gind = 0; gind < G; gind++) {
      const gn = gt[gind] ?? 0;
      const [gx, gy, gw, gh] = [gtBox[4 * gn] ?? 0, gtBox[4 * gn + 1] ?? 0, gtBox[4 * gn + 2] ?? 0, gtBox[4 * gn + 3] ?? 0];
      const w = Math.min(dw + dx, gw + gx) - Math.max(dx, gx);
      if (w <= 0) continue;
      const h = Math.min(dh + dy, gh + gy) - Math.max(dy, gy);
      if (h <= 0) continue;
      const intersection = w * h;
      const union = cocoGt.iscrowd[gn] ? dw * dh : dw * dh + gw * gh - intersection;
      ious[dind * G + gind] = intersection / union;
    }
  });
  return ious;
}

/**
 * COCOeval.evaluateImg for one area range: writes dtMatches (as matched or not) and dtIgnore of
 * the image's detections at `at` of `evaluation`'s flags, and returns how many of its ground truth
 * count (gtIgnore == 0).
 */
function evaluateImg(
  cocoGt: CocoGroundTruthColumns,
  cocoDt: CocoResults,
  { gt: gtUnsorted, dt, ious }: ImageObjects,
  [areaMin, areaMax]: readonly [number, number],
  { dtMatched, dtIgnore, stride }: CategoryEvaluation,
  at: number,
): number {
  const outsideArea = (area: number) => area < areaMin || area > areaMax;
  const [G, D] = [gtUnsorted.length, dt.length];
  const ignoredAt = (i: number) => {
    const n = gtUnsorted[i] ?? 0;
    return cocoGt.iscrowd[n] === 1 || outsideArea(cocoGt.area[n] ?? 0);
  };
  // Ignored ground truth last (a stable sort), so a detection prefers a regular match.
  const gtind = new Int32Array(G);
  const gtIg = new Uint8Array(G);
  let npig = 0;
  for (let i = 0; i < G; i++) if (!ignoredAt(i)) gtind[npig++] = i;
  for (let i = 0, gind = npig; i < G; i++) {
    if (!ignoredAt(i)) continue;
    gtind[gind] = i;
    gtIg[gind++] = 1;
  }
  const gt = gtind.map((i) => gtUnsorted[i] ?? 0);
  const iscrowd = gt.map((n) => cocoGt.iscrowd[n] ?? 0);
  const gtm = new Uint8Array(T * G);
  IOU_THRESHOLDS.forEach((t, tind) => {
    for (let dind = 0; dind < D; dind++) {
      // Best match so far (m = -1: unmatched). A later gt with an equal IoU replaces an earlier one.
      // (pycocotools starts from min(t, 1 − 1e-10); no threshold here comes near 1.)
      let iou = t;
      let m = -1;
      for (let gind = 0; gind < G; gind++) {
        // A matched gt is taken, unless it is a crowd region, which absorbs any number of detections.
        if (gtm[tind * G + gind] && !iscrowd[gind]) continue;
        // Already matched a regular gt and only ignored ones are left: stop.
        if (m > -1 && !gtIg[m] && gtIg[gind]) break;
        const candidate = ious[dind * G + (gtind[gind] ?? 0)] ?? 0;
        if (candidate < iou) continue;
        iou = candidate;
        m = gind;
      }
      if (m === -1) continue;
      const flag = at + tind * stride + dind;
      dtIgnore[flag] = gtIg[m] ?? 0;
      dtMatched[flag] = cocoGt.id[gt[m] ?? 0] === 0 ? 0 : 1;
      gtm[tind * G + m] = 1;
    }
  });
  // Unmatched detections outside the area range are not counted against it.
  dt.forEach((n, dind) => {
    if (!outsideArea((cocoDt.bbox[4 * n + 2] ?? 0) * (cocoDt.bbox[4 * n + 3] ?? 0))) return;
    for (let flag = at + dind; flag < at + T * stride; flag += stride) if (!dtMatched[flag]) dtIgnore[flag] = 1;
  });
  return npig;
}

/** np.searchsorted(sorted, value, side="left") */
function searchSortedLeft(sorted: Float64Array, value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((sorted[middle] ?? 0) < value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** Where COCOeval.accumulate's precision [T][R][K][A][M] and recall [T][K][A][M] keep a setting. */
function layout(K: number) {
  return {
    precisionAt: (t: number, r: number, k: number, a: number, m: number) => (((t * R + r) * K + k) * A + a) * M + m,
    recallAt: (t: number, k: number, a: number, m: number) => ((t * K + k) * A + a) * M + m,
  };
}

/** COCOeval.accumulate for category k: its precision and recall in every setting that has ground truth. */
function accumulate(evaluation: CategoryEvaluation, k: number, precision: Float64Array, recall: Float64Array, K: number) {
  const { count, dtScores, dtRank, dtMatched, dtIgnore, stride, npig } = evaluation;
  const { precisionAt, recallAt } = layout(K);
  // np.argsort(-dtScores, kind="mergesort") of all the category's detections in image order; each
  // maxDet's order is this one without the detections ranked maxDet or lower in their image.
  const byScore = Int32Array.from({ length: count }, (_, j) => j).sort((p, q) => (dtScores[q] ?? 0) - (dtScores[p] ?? 0) || p - q);
  const [rcBuffer, prBuffer] = [new Float64Array(count), new Float64Array(count)];
  MAX_DETS.forEach((maxDet, m) => {
    const inds = maxDet === LARGEST_MAX_DET ? byScore : byScore.filter((j) => (dtRank[j] ?? 0) < maxDet);
    const nd = inds.length;
    const [rc, pr] = [rcBuffer.subarray(0, nd), prBuffer.subarray(0, nd)];
    for (let a = 0; a < A; a++) {
      const gtCount = npig[a] ?? 0;
      if (gtCount === 0) continue;
      for (let t = 0; t < T; t++) {
        const flags = (a * T + t) * stride;
        let [tp, fp] = [0, 0];
        for (let q = 0; q < nd; q++) {
          const i = flags + (inds[q] ?? 0);
          if (!dtIgnore[i]) {
            if (dtMatched[i]) tp++;
            else fp++;
          }
          rc[q] = tp / gtCount;
          pr[q] = tp / (fp + tp + EPS);
        }
        recall[recallAt(t, k, a, m)] = nd ? (rc[nd - 1] ?? 0) : 0;
        // Precision envelope: each point takes the best precision at any higher recall.
        for (let i = nd - 1; i > 0; i--) if ((pr[i] ?? 0) > (pr[i - 1] ?? 0)) pr[i - 1] = pr[i] ?? 0;
        RECALL_THRESHOLDS.forEach((threshold, r) => {
          const pi = searchSortedLeft(rc, threshold);
          precision[precisionAt(t, r, k, a, m)] = pi < nd ? (pr[pi] ?? 0) : 0; // recall never got there
        });
      }
    }
  });
}

/** numpy's pairwise summation (pairwise_sum in loops_utils.h.src) of values[from, from + n). */
function pairwiseSum(values: Float64Array, from: number, n: number): number {
  if (n < 8) {
    let sum = 0;
    for (let i = from; i < from + n; i++) sum += values[i] ?? 0;
    return sum;
  }
  if (n <= 128) {
    const r = values.slice(from, from + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j]! += values[from + i + j] ?? 0;
    let sum = ((r[0]! + r[1]!) + (r[2]! + r[3]!)) + ((r[4]! + r[5]!) + (r[6]! + r[7]!));
    for (; i < n; i++) sum += values[from + i] ?? 0;
    return sum;
  }
  const half = Math.floor(n / 2) - (Math.floor(n / 2) % 8);
  return pairwiseSum(values, from, half) + pairwiseSum(values, from + half, n - half);
}

/** np.mean of the first n values: summed in blocks of numpy's buffer size (8192), each pairwise, so the bits are numpy's. */
function numpyMean(values: Float64Array, n: number): number {
  let sum = 0;
  for (let from = 0; from < n; from += 8192) sum += pairwiseSum(values, from, Math.min(8192, n - from));
  return sum / n;
}

/** COCOeval.summarize (_summarizeDets): means over the settings that have ground truth. */
function summarize(precision: Float64Array, recall: Float64Array, K: number): CocoStats {
  const { precisionAt, recallAt } = layout(K);
  const values = new Float64Array(T * R * K);
  const average = (ap: boolean, areaRng: AreaLabel, maxDets: (typeof MAX_DETS)[number], iouThr?: 0.5 | 0.75) => {
    const a = AREA_LABELS.indexOf(areaRng);
    const m = MAX_DETS.indexOf(maxDets);
    const thresholds = iouThr === undefined ? [...IOU_THRESHOLDS.keys()] : [IOU_THRESHOLDS.indexOf(iouThr)];
    // s[s > -1] of s = precision[t, :, :, a, m] (recall[t, :, a, m]), flattened in that order.
    let n = 0;
    const keep = (value: number) => {
      if (value > -1) values[n++] = value;
    };
    for (const t of thresholds) {
      if (ap) for (let r = 0; r < R; r++) for (let k = 0; k < K; k++) keep(precision[precisionAt(t, r, k, a, m)] ?? -1);
      else for (let k = 0; k < K; k++) keep(recall[recallAt(t, k, a, m)] ?? -1);
    }
    return n === 0 ? -1 : numpyMean(values, n);
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
 * `COCOeval(cocoGt, cocoDt, "bbox")`: evaluate, accumulate and summarize, one category at a time
 * (accumulate reads each category's evaluations alone, so they need not all be kept at once).
 */
export function evaluateResults(cocoDt: CocoResults): CocoStats {
  const { cocoGt } = cocoDt;
  const [K, I] = [cocoGt.catIds.length, cocoGt.imgIds.length];
  const gts = groupByCategoryAndImage(cocoGt.count, cocoGt.categoryIndex, cocoGt.imageIndex, K, I);
  const dts = groupByCategoryAndImage(cocoDt.count, cocoDt.categoryIndex, cocoDt.imageIndex, K, I);
  const precision = new Float64Array(T * R * K * A * M).fill(-1);
  const recall = new Float64Array(T * K * A * M).fill(-1);
  for (let k = 0; k < K; k++) accumulate(evaluate(cocoGt, gts, cocoDt, dts, k), k, precision, recall, K);
  return summarize(precision, recall, K);
}

/**
 * The 12 COCO box metrics of `detections` against `groundTruth`, as pycocotools'
 * `COCOeval(gt, dt, "bbox")` evaluate/accumulate/summarize computes them. Throws
 * `EvaluationInputError` for malformed input (unknown image or category, non-finite numbers, …).
 */
export function evaluateCoco(groundTruth: CocoGroundTruth, detections: readonly CocoDetection[]): CocoStats {
  const cocoDt = new CocoResults(loadGroundTruth(groundTruth));
  requireArray(detections, "detections");
  detections.forEach((detection, index) => cocoDt.add(detection, index));
  return evaluateResults(cocoDt);
}
