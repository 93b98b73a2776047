/**
 * torchvision's `MultiScaleRoIAlign` (`ops/poolers.py`): RoIAlign over several feature maps, each
 * box pooled from the level the FPN paper's heuristic (eq. 1) picks for its size.
 */
import * as tf from "@tensorflow/tfjs";
import { boxArea } from "./boxes.js";
import { setupScales, type LevelMapper, type Size2D } from "./geometry.js";
import { concatenatePerImage, multiLevelRoiAlign, type PoolingLevel, sizePair } from "./roi-align.js";

/** `LevelMapper` over tensors: `[K]` int32 level index for the boxes of all images, concatenated. */
export function boxLevels(mapper: LevelMapper, boxLists: readonly tf.Tensor2D[]): tf.Tensor1D {
  return tf.tidy(() => {
    const size = tf.sqrt(tf.concat(boxLists.map((boxes) => boxArea(boxes))));
    const log2 = tf.div(tf.log(tf.div(size, mapper.canonicalScale)), Math.LN2);
    const level = tf.floor(tf.add(tf.add(log2, mapper.canonicalLevel), mapper.eps));
    return tf.sub(tf.clipByValue(level, mapper.kMin, mapper.kMax), mapper.kMin).cast("int32") as tf.Tensor1D;
  });
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
    const levelIndex = maps.length === 1 ? (tf.zeros([boxCount], "int32") as tf.Tensor1D) : boxLevels(mapLevels, boxes);
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
