/**
 * torchvision's `MultiScaleRoIAlign` (`ops/poolers.py`): RoIAlign over several feature maps, each
 * box pooled from the level the FPN paper's heuristic (eq. 1) picks for its size.
 */
import * as tf from "@tensorflow/tfjs";
import type { Size2D } from "./anchor-utils.js";
import { boxArea } from "./boxes.js";
import { roundHalfToEven } from "../util/numerics.js";
import { concatenatePerImage, multiLevelRoiAlign, type PoolingLevel, sizePair } from "./roi-align.js";

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

  /** `[K]` int32 level index for the boxes of all images, concatenated. */
  levels(boxLists: readonly tf.Tensor2D[]): tf.Tensor1D {
    return tf.tidy(() => {
      const size = tf.sqrt(tf.concat(boxLists.map((boxes) => boxArea(boxes))));
      const log2 = tf.div(tf.log(tf.div(size, this.canonicalScale)), Math.LN2);
      const level = tf.floor(tf.add(tf.add(log2, this.canonicalLevel), this.eps));
      return tf.sub(tf.clipByValue(level, this.kMin, this.kMax), this.kMin).cast("int32") as tf.Tensor1D;
    });
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

export interface MultiScaleRoIAlignOptions {
  canonicalScale?: number;
  canonicalLevel?: number;
}

/**
 * Pools boxes (image coordinates, one `[L, 4]` tensor per image) from the feature maps named in
 * `featmapNames`, in the order the maps come in `features`; returns `[K, height, width, C]` in the
 * order of the concatenated boxes. Scales are re-derived on every call from the shapes (torchvision
 * caches the first call's).
 */
export class MultiScaleRoIAlign {
  readonly outputSize: Size2D;
  readonly canonicalScale: number;
  readonly canonicalLevel: number;

  constructor(
    readonly featmapNames: readonly string[],
    outputSize: number | Size2D,
    readonly samplingRatio: number,
    { canonicalScale = 224, canonicalLevel = 4 }: MultiScaleRoIAlignOptions = {},
  ) {
    this.outputSize = sizePair(outputSize);
    this.canonicalScale = canonicalScale;
    this.canonicalLevel = canonicalLevel;
  }

  /** The maps that are pooled and, per box of `boxes`, the index of the map it is pooled from. */
  assignLevels(
    features: ReadonlyMap<string, tf.Tensor4D> | Readonly<Record<string, tf.Tensor4D>>,
    boxes: readonly tf.Tensor2D[],
    imageShapes: readonly Size2D[],
  ): { levels: PoolingLevel[]; levelIndex: tf.Tensor1D; mapper: LevelMapper } {
    const entries = features instanceof Map ? [...features.entries()] : Object.entries(features);
    const missing = this.featmapNames.filter((name) => !entries.some(([key]) => key === name));
    if (missing.length > 0) {
      const available = entries.map(([key]) => key).join(", ");
      throw new Error(`MultiScaleRoIAlign: no feature map named ${missing.join(", ")}; the maps are ${available}`);
    }
    const maps = entries.filter(([name]) => this.featmapNames.includes(name)).map(([, map]) => map);
    const { scales, mapLevels } = setupScales(
      maps.map((map): Size2D => [map.shape[1], map.shape[2]]),
      imageShapes,
      this.canonicalScale,
      this.canonicalLevel,
    );
    const boxCount = boxes.reduce((total, perImage) => total + perImage.shape[0], 0);
    const levelIndex = maps.length === 1 ? (tf.zeros([boxCount], "int32") as tf.Tensor1D) : mapLevels.levels(boxes);
    const levels = maps.map((map, level): PoolingLevel => ({ features: map, spatialScale: scales[level]! }));
    return { levels, levelIndex, mapper: mapLevels };
  }

  forward(
    features: ReadonlyMap<string, tf.Tensor4D> | Readonly<Record<string, tf.Tensor4D>>,
    boxes: readonly tf.Tensor2D[],
    imageShapes: readonly Size2D[],
  ): tf.Tensor4D {
    return tf.tidy(() => {
      const { levels, levelIndex, mapper } = this.assignLevels(features, boxes, imageShapes);
      const { corners, imageIndex } = concatenatePerImage(boxes);
      const lastLevel = levels.length - 1;
      const mapIndex = tf.minimum(levelIndex, tf.scalar(lastLevel, "int32")) as tf.Tensor1D;
      const pooled = multiLevelRoiAlign(levels, corners, imageIndex, mapIndex, this.outputSize, this.samplingRatio);
      if (levels.length === 1 || mapper.kMax - mapper.kMin <= lastLevel) return pooled;
      // Maps not 2x apart leave levels without a map; torchvision leaves those boxes' outputs at zero.
      return tf.mul(pooled, tf.cast(tf.lessEqual(levelIndex, lastLevel), "float32").reshape([-1, 1, 1, 1]));
    });
  }
}
