/**
 * torchvision's `AnchorGenerator` (`models/detection/anchor_utils.py`), number for number.
 *
 * Anchors depend only on shapes, so they are computed on the host in float32 (each step rounded with
 * `Math.fround` as torch's float32 ops round) and uploaded once as a tensor.
 */
import * as tf from "@tensorflow/tfjs";
import { cellAnchors, type Size2D } from "./geometry.js";

type PerLevel = readonly (readonly number[])[];

/**
 * Generates anchors for a set of feature maps. `sizes` and `aspectRatios` hold one group per feature
 * map; group `i` yields `sizes[i].length * aspectRatios[i].length` anchors per location of map `i`.
 * As in torchvision, flat `sizes` mean one size per map, flat `aspectRatios` are shared by every map,
 * and an aspect ratio is height / width.
 */
export class AnchorGenerator {
  readonly sizes: PerLevel;
  readonly aspectRatios: PerLevel;
  /** Zero-centred `(x1, y1, x2, y2)` anchors per level, ratio-major then size, rounded like `torch.round`. */
  readonly cellAnchors: readonly Float32Array[];

  constructor(
    sizes: readonly number[] | PerLevel = [[128, 256, 512]],
    aspectRatios: readonly number[] | PerLevel = [[0.5, 1.0, 2.0]],
  ) {
    this.sizes = isPerLevel(sizes) ? sizes : sizes.map((size) => [size]);
    this.aspectRatios = isPerLevel(aspectRatios) ? aspectRatios : this.sizes.map(() => aspectRatios);
    if (this.sizes.length !== this.aspectRatios.length) {
      throw new Error(
        `AnchorGenerator: ${this.sizes.length} size groups but ${this.aspectRatios.length} aspect-ratio groups; ` +
          "give one group of each per feature map",
      );
    }
    this.cellAnchors = this.sizes.map((scales, level) => cellAnchors(scales, this.aspectRatios[level]!));
  }

  numAnchorsPerLocation(): number[] {
    return this.sizes.map((scales, level) => scales.length * this.aspectRatios[level]!.length);
  }

  /**
   * Anchors of each level: for every location (row-major, shifted by `location * stride`), every cell
   * anchor of that level; `[locations * anchorsPerLocation * 4]` per level.
   */
  gridAnchors(gridSizes: readonly Size2D[], strides: readonly Size2D[]): Float32Array[] {
    if (gridSizes.length !== this.cellAnchors.length || strides.length !== this.cellAnchors.length) {
      throw new Error(
        `AnchorGenerator: ${gridSizes.length} feature maps but ${this.cellAnchors.length} anchor groups; ` +
          "sizes and aspect ratios need one group per feature map",
      );
    }
    return gridSizes.map(([gridHeight, gridWidth], level) => {
      const [strideHeight, strideWidth] = strides[level]!;
      const cell = this.cellAnchors[level]!;
      const anchors = new Float32Array(gridHeight * gridWidth * cell.length);
      let offset = 0;
      for (let row = 0; row < gridHeight; row++) {
        for (let column = 0; column < gridWidth; column++) {
          const shiftX = column * strideWidth;
          const shiftY = row * strideHeight;
          for (let i = 0; i < cell.length; i += 4) {
            anchors[offset++] = shiftX + cell[i]!;
            anchors[offset++] = shiftY + cell[i + 1]!;
            anchors[offset++] = shiftX + cell[i + 2]!;
            anchors[offset++] = shiftY + cell[i + 3]!;
          }
        }
      }
      return anchors;
    });
  }

  /**
   * torchvision's `forward`: all levels' anchors, concatenated, `[N, 4]`, for a batch padded to
   * `imageSize` whose feature maps have `gridSizes`. Each level's stride is `imageSize // gridSize` per
   * dimension. torchvision repeats the same anchors once per image; here one tensor serves the batch.
   */
  anchorsFor(imageSize: Size2D, gridSizes: readonly Size2D[]): tf.Tensor2D {
    const [imageHeight, imageWidth] = imageSize;
    const strides = gridSizes.map(
      ([gridHeight, gridWidth]): Size2D => [Math.floor(imageHeight / gridHeight), Math.floor(imageWidth / gridWidth)],
    );
    const levels = this.gridAnchors(gridSizes, strides);
    const all = new Float32Array(levels.reduce((total, level) => total + level.length, 0));
    let offset = 0;
    for (const level of levels) {
      all.set(level, offset);
      offset += level.length;
    }
    return tf.tensor2d(all, [all.length / 4, 4]);
  }
}

function isPerLevel(groups: readonly number[] | PerLevel): groups is PerLevel {
  return Array.isArray(groups[0]);
}
