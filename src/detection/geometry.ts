/**
 * The detector's geometry on the host, without TensorFlow.js: cell anchors, the IoU of one pair, and
 * the RoI level mapper's scales. Training builds its tensors from these; `detc check --data` runs
 * them over a whole dataset without loading an engine.
 */
import { roundHalfToEven } from "../util/numerics.js";

/** `(height, width)`, the order torchvision uses for image and feature-map sizes. */
export type Size2D = readonly [height: number, width: number];

/** `AnchorGenerator.generate_anchors` in float32: `round([-w, -h, w, h] / 2)`, ratio-major. */
export function cellAnchors(scales: readonly number[], aspectRatios: readonly number[]): Float32Array {
  const anchors = new Float32Array(scales.length * aspectRatios.length * 4);
  let offset = 0;
  for (const ratio of aspectRatios) {
    const heightRatio = Math.fround(Math.sqrt(Math.fround(ratio)));
    const widthRatio = Math.fround(1 / heightRatio);
    for (const scale of scales) {
      const halfWidth = Math.fround(Math.fround(widthRatio * Math.fround(scale)) / 2);
      const halfHeight = Math.fround(Math.fround(heightRatio * Math.fround(scale)) / 2);
      anchors[offset++] = roundHalfToEven(-halfWidth);
      anchors[offset++] = roundHalfToEven(-halfHeight);
      anchors[offset++] = roundHalfToEven(halfWidth);
      anchors[offset++] = roundHalfToEven(halfHeight);
    }
  }
  return anchors;
}

/**
 * `box_iou` of one pair on the host, rounded at every step as torch's float32 ops round, so a
 * threshold test (`>= 0.7`) decides as training's does. For scans over many anchors (detc check --data).
 */
export function pairIou(
  ax1: number, ay1: number, ax2: number, ay2: number,
  bx1: number, by1: number, bx2: number, by2: number,
): number {
  const f = Math.fround;
  const width = Math.max(f(Math.min(ax2, bx2) - Math.max(ax1, bx1)), 0);
  const height = Math.max(f(Math.min(ay2, by2) - Math.max(ay1, by1)), 0);
  const inter = f(width * height);
  const areaA = f(f(ax2 - ax1) * f(ay2 - ay1));
  const areaB = f(f(bx2 - bx1) * f(by2 - by1));
  return f(inter / f(f(areaA + areaB) - inter));
}

/**
 * `_infer_scale`: a map's scale relative to the image, assumed to be `2 ** -k`:
 * `2 ** round(log2(mapSize / imageSize))`, decided by the height as in torchvision.
 */
export function inferScale(featureSize: Size2D, originalSize: Size2D): number {
  return 2 ** roundHalfToEven(Math.log2(Math.fround(featureSize[0] / originalSize[0])));
}

/**
 * FPN level of each box: `floor(canonicalLevel + log2(sqrt(area) / canonicalScale) + eps)`, clamped
 * to `[kMin, kMax]`, returned as an index from `kMin`. A 224x224 box goes to level 4 (stride 16).
 */
export class LevelMapper {
  constructor(
    readonly kMin: number,
    readonly kMax: number,
    readonly canonicalScale = 224,
    readonly canonicalLevel = 4,
    readonly eps = 1e-6,
  ) {}

  /**
   * The same rule for one box on the host (float32 `sqrt` and division, as torch computes them), for
   * reports over a whole dataset; an index from `kMin`.
   */
  levelOfArea(area: number): number {
    const log2 = Math.fround(Math.log2(Math.fround(Math.fround(Math.sqrt(Math.fround(area))) / this.canonicalScale)));
    const level = Math.floor(Math.fround(Math.fround(log2 + this.canonicalLevel) + Math.fround(this.eps)));
    return Math.min(this.kMax, Math.max(this.kMin, level)) - this.kMin;
  }
}

/**
 * `_setup_scales`: each pooled map's scale against the largest image of the batch, and the level
 * range they span (`-log2` of the first and last scale).
 */
export function setupScales(
  featureSizes: readonly Size2D[],
  imageShapes: readonly Size2D[],
  canonicalScale = 224,
  canonicalLevel = 4,
): { scales: number[]; mapLevels: LevelMapper } {
  if (imageShapes.length === 0) throw new Error("images list should not be empty");
  const originalSize: Size2D = [Math.max(...imageShapes.map(([h]) => h)), Math.max(...imageShapes.map(([, w]) => w))];
  const scales = featureSizes.map((size) => inferScale(size, originalSize));
  const levelOf = (scale: number) => Math.trunc(-Math.log2(scale));
  const [kMin, kMax] = [levelOf(scales[0]!), levelOf(scales[scales.length - 1]!)];
  const mapLevels = new LevelMapper(kMin, kMax, canonicalScale, canonicalLevel);
  return { scales, mapLevels };
}
