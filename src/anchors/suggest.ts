/**
 * Anchors fitted to a dataset's boxes: k-means over box shapes with 1 − IoU as the distance (YOLO's
 * anchor clustering), constrained to what an `anchors` line can say — sizes × ratios, the same ratios
 * on every level, the same number of sizes on every level (so the RPN head, shared by all levels,
 * keeps its anchors per location) — and sizes ordered so finer levels get the smaller ones.
 */

export interface BoxShapes {
  readonly widths: Float64Array;
  readonly heights: Float64Array;
}

export interface AnchorLayout {
  readonly levels: number;
  readonly sizesPerLevel: number;
  readonly ratioCount: number;
}

export interface FittedAnchors {
  readonly sizes: number[][];
  readonly ratios: number[];
}

/** Boxes clustered at most; more are sampled evenly (the fit needs the distribution, not every box). */
const MAX_FITTED_BOXES = 20_000;
/** Median updates can cycle between two states instead of settling; a repeated state also stops. */
const MAX_ITERATIONS = 30;

/** IoU of two boxes with the same centre. */
function centredIou(width: number, height: number, otherWidth: number, otherHeight: number): number {
  const inter = Math.min(width, otherWidth) * Math.min(height, otherHeight);
  return inter / (width * height + otherWidth * otherHeight - inter);
}

/** The `(index + 0.5) / count` quantiles of `values`. */
function quantiles(values: Float64Array, count: number): number[] {
  const sorted = Float64Array.from(values).sort();
  return Array.from({ length: count }, (_, i) => sorted[Math.min(sorted.length - 1, Math.floor(((i + 0.5) / count) * sorted.length))]!);
}

/** Per cluster, the median of its members' values; a cluster left empty keeps its centre. */
function medians(values: Float64Array, clusterOf: Int32Array, centres: readonly number[]): number[] {
  const members = centres.map((): number[] => []);
  clusterOf.forEach((cluster, i) => members[cluster]!.push(values[i]!));
  return members.map((group, cluster) => {
    if (group.length === 0) return centres[cluster]!;
    const sorted = group.sort((a, b) => a - b);
    const middle = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  });
}

function sample(shapes: BoxShapes): BoxShapes {
  const step = Math.ceil(shapes.widths.length / MAX_FITTED_BOXES);
  if (step === 1) return shapes;
  const pick = (values: Float64Array) => Float64Array.from({ length: Math.ceil(values.length / step) }, (_, i) => values[i * step]!);
  return { widths: pick(shapes.widths), heights: pick(shapes.heights) };
}

/**
 * Lloyd's iterations: each box joins the (size, ratio) anchor of highest centred IoU; each size
 * becomes the median √area (in log space) of its boxes, each ratio the median height / width. Medians,
 * not means, because 1 − IoU weighs a size twice too big like one half as big.
 */
export function fitAnchors(all: BoxShapes, layout: AnchorLayout): FittedAnchors {
  const { widths, heights } = sample(all);
  const count = widths.length;
  const logScales = Float64Array.from(widths, (w, i) => Math.log(Math.sqrt(w * heights[i]!)));
  const logRatios = Float64Array.from(widths, (w, i) => Math.log(heights[i]! / w));
  const sizeCount = layout.levels * layout.sizesPerLevel;
  let logSizes = quantiles(logScales, sizeCount);
  let logRatioCentres = quantiles(logRatios, layout.ratioCount);
  const sizeOf = new Int32Array(count).fill(-1);
  const ratioOf = new Int32Array(count).fill(-1);
  const seen = new Set<string>();
  for (let iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
    const state = [...logSizes, ...logRatioCentres].join();
    if (seen.has(state)) break;
    seen.add(state);
    const anchorWidths = logSizes.flatMap((logSize) => logRatioCentres.map((logRatio) => Math.exp(logSize - logRatio / 2)));
    const anchorHeights = logSizes.flatMap((logSize) => logRatioCentres.map((logRatio) => Math.exp(logSize + logRatio / 2)));
    let changed = false;
    for (let box = 0; box < count; box++) {
      let best = -1;
      let bestAnchor = 0;
      for (let anchor = 0; anchor < anchorWidths.length; anchor++) {
        const iou = centredIou(widths[box]!, heights[box]!, anchorWidths[anchor]!, anchorHeights[anchor]!);
        if (iou > best) {
          best = iou;
          bestAnchor = anchor;
        }
      }
      const size = Math.floor(bestAnchor / logRatioCentres.length);
      const ratio = bestAnchor % logRatioCentres.length;
      if (sizeOf[box] !== size || ratioOf[box] !== ratio) changed = true;
      sizeOf[box] = size;
      ratioOf[box] = ratio;
    }
    if (!changed) break;
    logSizes = medians(logScales, sizeOf, logSizes);
    logRatioCentres = medians(logRatios, ratioOf, logRatioCentres);
  }
  const sizes = increasing(logSizes.map(Math.exp).sort((a, b) => a - b), 1, 1);
  const ratios = increasing(logRatioCentres.map(Math.exp).sort((a, b) => a - b), 0.01, 0.01);
  return {
    sizes: Array.from({ length: layout.levels }, (_, level) => sizes.slice(level * layout.sizesPerLevel, (level + 1) * layout.sizesPerLevel)),
    ratios,
  };
}

/** Values rounded to multiples of `step`, at least `step`, each above the one before (an anchor line lists distinct sizes). */
function increasing(values: number[], step: number, minimum: number): number[] {
  const rounded: number[] = [];
  for (const value of values) {
    const snapped = Math.max(minimum, Math.round(value / step) * step);
    const previous = rounded.at(-1);
    rounded.push(Number((previous !== undefined && snapped <= previous ? previous + step : snapped).toFixed(2)));
  }
  return rounded;
}

/**
 * The fit over the first `used` levels only, the others continuing the pyramid (each level's sizes
 * twice the previous level's): when every box is small, coarse levels cannot place an anchor close
 * enough to reach a high IoU, and the sizes are better spent on the fine ones.
 */
export function fitFinestLevels(shapes: BoxShapes, layout: AnchorLayout, used: number): FittedAnchors {
  const fitted = fitAnchors(shapes, { ...layout, levels: used });
  const sizes = [...fitted.sizes];
  while (sizes.length < layout.levels) sizes.push((sizes.at(-1) ?? [1]).map((size) => size * 2));
  return { sizes, ratios: fitted.ratios };
}

/** Each level's sizes raised to at least its stride: a smaller anchor leaves gaps between its centres. */
export function atLeastStride(fit: FittedAnchors, strides: readonly number[]): FittedAnchors {
  const sizes = fit.sizes.map((group, level) => {
    const stride = strides[level] ?? 1;
    const raised: number[] = [];
    for (const size of group) raised.push(Math.max(size, stride, (raised.at(-1) ?? 0) + 1));
    return raised;
  });
  return { sizes, ratios: fit.ratios };
}
