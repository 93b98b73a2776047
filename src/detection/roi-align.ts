/**
 * RoIAlign (`torchvision.ops.roi_align`, the `aligned=False` variant Faster R-CNN uses), with its
 * gradient with respect to the feature maps, over one feature map or a whole pyramid.
 *
 * Feature maps are NHWC (`[N, H, W, C]`, TensorFlow.js' layout) and the result is
 * `[K, outputHeight, outputWidth, C]`; torchvision's are NCHW.
 *
 * torchvision's kernel, per box: scale the box to the map, force it to at least 1x1, split it into
 * `output` bins, take `grid` evenly spaced samples per bin (`samplingRatio`, or
 * `ceil(roiSize / output)` when `samplingRatio <= 0`) and average their bilinear values. A sample with
 * `y < -1 || y > height` (or the same in x) counts as 0; otherwise negative coordinates are clamped to
 * 0 and a sample at or past the last row/column reads that row/column.
 *
 * The samples of every box lie on one uniform grid, which is what `tf.image.cropAndResize` samples,
 * so the maps are packed into one "atlas" image, each map padded by `EDGE_MARGIN` replicated edge
 * pixels (which reproduces the clamping above), every box's sample grid is handed to a single
 * `cropAndResize`, samples torchvision counts as 0 are masked, and `avgPool` averages each bin. The
 * gradient is autodiff's through those ops (cropAndResize's is registered by `engine/gradients`).
 * Box coordinates get no gradient, as in torchvision (and the RoI heads detach proposals anyway).
 */
import * as tf from "@tensorflow/tfjs";
import type { Size2D } from "./geometry.js";
import { boxColumns } from "./boxes.js";
import { concat, gatherRows, leanOp } from "../lowering/lean-backward.js";

export interface RoIAlignOptions {
  /** `(height, width)` of each pooled box, or one number for both. */
  outputSize: number | Size2D;
  /** Factor from box coordinates to map coordinates, e.g. 1/16 for a stride-16 map. Default 1. */
  spatialScale?: number;
  /** Samples per bin along each axis; `<= 0` means adaptive, `ceil(roiSize / outputSize)`. Default -1. */
  samplingRatio?: number;
}

/** A feature map to pool from, with the factor that maps box (image) coordinates onto it. */
export interface PoolingLevel {
  features: tf.Tensor4D;
  spatialScale: number;
}

/**
 * `roi_align(input, boxes, output_size, spatial_scale, sampling_ratio, aligned=False)`. `boxes` are
 * either `[K, 5]` rows `(imageIndex, x1, y1, x2, y2)` or one `[L, 4]` tensor per image.
 */
export function roiAlign(
  input: tf.Tensor4D,
  boxes: tf.Tensor2D | readonly tf.Tensor2D[],
  options: RoIAlignOptions,
): tf.Tensor4D {
  const { spatialScale = 1, samplingRatio = -1 } = options;
  return tf.tidy(() => {
    const { corners, imageIndex } = Array.isArray(boxes)
      ? concatenatePerImage(boxes)
      : splitRoiFormat(boxes as tf.Tensor2D);
    const levelIndex = tf.zeros([corners.shape[0]], "int32") as tf.Tensor1D;
    const levels = [{ features: input, spatialScale }];
    return multiLevelRoiAlign(levels, corners, imageIndex, levelIndex, sizePair(options.outputSize), samplingRatio);
  });
}

/**
 * RoIAlign of box `k` (`[K, 4]` image coordinates) on image `imageIndex[k]` of pyramid level
 * `levelIndex[k]`, all boxes in one pass whatever their level. Levels share batch size and channels.
 *
 * With `samplingRatio > 0` nothing leaves the device. With `samplingRatio <= 0` the per-box sampling
 * grids decide tensor shapes, so they are read to the host once and boxes are pooled in groups of
 * equal grid.
 */
export function multiLevelRoiAlign(
  levels: readonly PoolingLevel[],
  boxes: tf.Tensor2D,
  imageIndex: tf.Tensor1D,
  levelIndex: tf.Tensor1D,
  outputSize: Size2D,
  samplingRatio: number,
): tf.Tensor4D {
  const layout = pyramidLayout(levels);
  const groups = samplingGroups(layout, boxes, levelIndex, outputSize, samplingRatio);
  return poolAll(buildAtlas(levels.map((level) => level.features), layout), layout, boxes, imageIndex, levelIndex, outputSize, groups);
}

/**
 * Replicated border around every map in the atlas. One pixel reproduces torchvision's clamping; a
 * second keeps a sample at exactly -1 (still valid) off the atlas edge, where cropAndResize's
 * recomputed coordinate could land a hair outside and read 0.
 */
const EDGE_MARGIN = 2;

/** At most this many bytes of bilinear samples at once (see `poolGroup`). */
const SAMPLE_CHUNK_BYTES = 16 * 2 ** 20;

/** Where each level sits in the atlas (rows). */
interface PyramidLayout {
  scales: number[];
  heights: number[];
  widths: number[];
  atlasRows: number[];
  atlasHeight: number;
  atlasWidth: number;
}

function pyramidLayout(levels: readonly PoolingLevel[]): PyramidLayout {
  const [batch, , , channels] = levels[0]!.features.shape;
  const layout: PyramidLayout = {
    scales: [], heights: [], widths: [], atlasRows: [],
    atlasHeight: 0, atlasWidth: 0,
  };
  for (const { features, spatialScale } of levels) {
    const [levelBatch, height, width, levelChannels] = features.shape;
    if (levelBatch !== batch || levelChannels !== channels) {
      throw new Error(
        `RoIAlign: levels disagree on batch or channels: [${features.shape}] vs [${levels[0]!.features.shape}]`,
      );
    }
    layout.scales.push(spatialScale);
    layout.heights.push(height);
    layout.widths.push(width);
    layout.atlasRows.push(layout.atlasHeight);
    layout.atlasHeight += height + 2 * EDGE_MARGIN;
    layout.atlasWidth = Math.max(layout.atlasWidth, width + 2 * EDGE_MARGIN);
  }
  return layout;
}

/** All levels stacked vertically, edges replicated `EDGE_MARGIN` times, zero-filled to a common width. */
function buildAtlas(features: readonly tf.Tensor4D[], layout: PyramidLayout): tf.Tensor4D {
  const blocks = features.map((map) => {
    // Clamped indices, not tf.mirrorPad: tfjs's mirrorPad gradient drops what the border received.
    const [, height, width] = map.shape;
    const clamped = (size: number) =>
      tf.tensor1d(Array.from({ length: size + 2 * EDGE_MARGIN }, (_, i) => Math.min(Math.max(i - EDGE_MARGIN, 0), size - 1)), "int32");
    const block = tf.gather(tf.gather(map, clamped(height), 1), clamped(width), 2);
    const missingWidth = layout.atlasWidth - block.shape[2];
    return missingWidth > 0 ? tf.pad(block, [[0, 0], [0, 0], [0, missingWidth], [0, 0]]) : block;
  });
  return blocks.length === 1 ? blocks[0]! : tf.concat(blocks, 1);
}

/** Boxes sharing one sampling grid; `boxIds` null means all boxes, in order. */
interface SamplingGroup {
  boxIds: Int32Array | null;
  grid: Size2D;
}

/** Boxes in map coordinates plus the per-box facts of their level, each `[K, 1]`. */
interface BoxGeometry {
  startX: tf.Tensor2D;
  startY: tf.Tensor2D;
  endX: tf.Tensor2D;
  endY: tf.Tensor2D;
  mapHeight: tf.Tensor2D;
  mapWidth: tf.Tensor2D;
  atlasRow: tf.Tensor2D;
  imageIndex: tf.Tensor1D;
}

function boxGeometry(
  layout: PyramidLayout,
  boxes: tf.Tensor2D,
  imageIndex: tf.Tensor1D,
  levelIndex: tf.Tensor1D,
): BoxGeometry {
  const perBox = (values: number[]) => tf.gather(tf.tensor1d(values), levelIndex).reshape([-1, 1]) as tf.Tensor2D;
  const scale = perBox(layout.scales);
  const [x1, y1, x2, y2] = boxColumns(boxes);
  return {
    startX: tf.mul(x1, scale),
    startY: tf.mul(y1, scale),
    endX: tf.mul(x2, scale),
    endY: tf.mul(y2, scale),
    mapHeight: perBox(layout.heights),
    mapWidth: perBox(layout.widths),
    atlasRow: perBox(layout.atlasRows),
    imageIndex,
  };
}

/** torchvision forces malformed boxes to 1x1 (aligned=False): `max(end - start, 1)`. */
function roiExtent(start: tf.Tensor2D, end: tf.Tensor2D): tf.Tensor2D {
  return tf.maximum(tf.sub(end, start), 1);
}

function samplingGroups(
  layout: PyramidLayout,
  boxes: tf.Tensor2D,
  levelIndex: tf.Tensor1D,
  [outputHeight, outputWidth]: Size2D,
  samplingRatio: number,
): SamplingGroup[] {
  if (samplingRatio > 0) return [{ boxIds: null, grid: [samplingRatio, samplingRatio] }];
  if (boxes.shape[0] === 0) return [{ boxIds: null, grid: [1, 1] }]; // any grid pools nothing
  const grids = tf.tidy(() => {
    const box = boxGeometry(layout, boxes, tf.zeros([boxes.shape[0]], "int32"), levelIndex);
    const gridY = tf.ceil(tf.div(roiExtent(box.startY, box.endY), outputHeight));
    const gridX = tf.ceil(tf.div(roiExtent(box.startX, box.endX), outputWidth));
    return tf.concat([gridY, gridX], 1).cast("int32");
  });
  const values = grids.dataSync();
  grids.dispose();
  const members = new Map<string, { grid: Size2D; ids: number[] }>();
  for (let box = 0; box < boxes.shape[0]; box++) {
    const grid: Size2D = [values[2 * box]!, values[2 * box + 1]!];
    const key = grid.join("x");
    if (!members.has(key)) members.set(key, { grid, ids: [] });
    members.get(key)!.ids.push(box);
  }
  return [...members.values()].map(({ grid, ids }) => ({ grid, boxIds: Int32Array.from(ids) }));
}

/** Runs `perGroup` on each group's subset of boxes. */
function forEachGroup<T>(
  groups: readonly SamplingGroup[],
  layout: PyramidLayout,
  boxes: tf.Tensor2D,
  imageIndex: tf.Tensor1D,
  levelIndex: tf.Tensor1D,
  perGroup: (geometry: BoxGeometry, group: SamplingGroup) => T,
): T[] {
  return groups.map((group) => {
    if (group.boxIds === null) return perGroup(boxGeometry(layout, boxes, imageIndex, levelIndex), group);
    const ids = tf.tensor1d(group.boxIds, "int32");
    const geometry = boxGeometry(layout, tf.gather(boxes, ids), tf.gather(imageIndex, ids), tf.gather(levelIndex, ids));
    return perGroup(geometry, group);
  });
}

/** Sample coordinates along one axis, `[K, output * grid]`, in torchvision's float32 operation order. */
function samplePositions(start: tf.Tensor2D, end: tf.Tensor2D, output: number, grid: number): tf.Tensor2D {
  const binSize = tf.div(roiExtent(start, end), output);
  const sampleCount = output * grid;
  const perSample = (value: (sample: number) => number) =>
    tf.tensor2d(Float32Array.from({ length: sampleCount }, (_, sample) => value(sample)), [1, sampleCount]);
  const binOfSample = perSample((sample) => Math.floor(sample / grid));
  const offsetInBin = perSample((sample) => (sample % grid) + 0.5);
  // roi_start + bin * bin_size + (i + .5) * bin_size / grid
  return tf.add(tf.add(start, tf.mul(binOfSample, binSize)), tf.div(tf.mul(offsetInBin, binSize), grid));
}

/**
 * torchvision's test for a sample that contributes, `-1 <= position <= size`, as 1 or 0. Written
 * with `step` (whose gradient is zero) rather than comparisons (which have none), so that autodiff
 * can pass through box coordinates and give them the zero gradient torchvision gives.
 */
function insideMap(positions: tf.Tensor2D, size: tf.Tensor2D): tf.Tensor2D {
  const outside = (amount: tf.Tensor) => tf.step(amount); // 1 where amount > 0
  return tf.mul(tf.sub(1, outside(tf.sub(-1, positions))), tf.sub(1, outside(tf.sub(positions, size)))) as tf.Tensor2D;
}

function poolAll(
  atlas: tf.Tensor4D,
  layout: PyramidLayout,
  boxes: tf.Tensor2D,
  imageIndex: tf.Tensor1D,
  levelIndex: tf.Tensor1D,
  outputSize: Size2D,
  groups: readonly SamplingGroup[],
): tf.Tensor4D {
  const pooled = forEachGroup(groups, layout, boxes, imageIndex, levelIndex, (geometry, { grid }) =>
    poolGroup(atlas, geometry, outputSize, grid),
  );
  if (groups.length === 1 && groups[0]!.boxIds === null) return pooled[0]!;
  const groupOrder = Int32Array.from(groups.flatMap((group) => [...group.boxIds!]));
  const positionInGroups = new Int32Array(groupOrder.length);
  groupOrder.forEach((box, position) => (positionInGroups[box] = position));
  return gatherRows(concat(pooled), tf.tensor1d(positionInGroups, "int32"));
}

function poolGroup(
  atlas: tf.Tensor4D,
  box: BoxGeometry,
  [outputHeight, outputWidth]: Size2D,
  [gridY, gridX]: Size2D,
): tf.Tensor4D {
  const [, atlasHeight, atlasWidth] = atlas.shape;
  const y = samplePositions(box.startY, box.endY, outputHeight, gridY);
  const x = samplePositions(box.startX, box.endX, outputWidth, gridX);
  const atlasY = tf.add(y, tf.add(box.atlasRow, EDGE_MARGIN));
  const atlasX = tf.add(x, EDGE_MARGIN);
  const [rows, columns] = [y.shape[1], x.shape[1]];
  // cropAndResize wants (y1, x1, y2, x2) of the first and last sample, normalised by (size - 1).
  const first = (positions: tf.Tensor) => positions.slice([0, 0], [-1, 1]);
  const last = (positions: tf.Tensor) => positions.slice([0, positions.shape[1]! - 1], [-1, 1]);
  const cropBoxes = tf.div(
    tf.concat([first(atlasY), first(atlasX), last(atlasY), last(atlasX)], 1),
    tf.tensor1d([atlasHeight - 1, atlasWidth - 1, atlasHeight - 1, atlasWidth - 1]),
  ) as tf.Tensor2D;
  const contributes = tf.mul(
    insideMap(y, box.mapHeight).reshape([-1, rows, 1, 1]),
    insideMap(x, box.mapWidth).reshape([-1, 1, columns, 1]),
  ) as tf.Tensor4D;
  // The samples are grid² times the pooled output (1000 boxes × 14×14 × 256 channels: 200 MB an
  // image); sampled and pooled a chunk of boxes at a time, only one chunk's samples are alive at once.
  const count = cropBoxes.shape[0];
  const chunk = Math.max(1, Math.floor(SAMPLE_CHUNK_BYTES / (rows * columns * atlas.shape[3] * 4)));
  // At least one chunk: no boxes pool to an empty [0, …] result.
  const pooled = Array.from({ length: Math.max(1, Math.ceil(count / chunk)) }, (_, i) =>
    tf.tidy(() => {
      const [start, size] = [i * chunk, Math.min(chunk, count - i * chunk)];
      const samples = tf.image.cropAndResize(atlas, cropBoxes.slice([start, 0], [size, 4]), box.imageIndex.slice(start, size), [rows, columns], "bilinear", 0);
      return maskedAveragePool(samples, contributes.slice([start, 0, 0, 0], [size, rows, columns, 1]), [gridY, gridX]);
    }),
  );
  return pooled.length === 1 ? pooled[0]! : concat(pooled);
}

/**
 * `avgPool(samples · mask)` over `grid`-sized cells, keeping only the mask (`[K, rows, columns, 1]`)
 * for the backward pass: tfjs's multiply keeps the samples and its average pool their product, two
 * tensors of `grid` times the pooled output's size. The cells tile the samples exactly, so each
 * sample's gradient is its cell's `dy` over the cell's size, times the mask. The mask comes from
 * box coordinates through `step` and has a zero gradient, as in the composite.
 */
function maskedAveragePool(samples: tf.Tensor4D, mask: tf.Tensor4D, [gridY, gridX]: Size2D): tf.Tensor4D {
  const [boxes, rows, columns, channels] = samples.shape;
  const [outputHeight, outputWidth] = [rows / gridY, columns / gridX];
  const pool = leanOp<[tf.Tensor4D, tf.Tensor4D]>(
    ([values, weights], save) => {
      save([weights]);
      return tf.avgPool(tf.mul(values, weights) as tf.Tensor4D, [gridY, gridX], [gridY, gridX], "valid");
    },
    (dy, [weights]) => {
      const perCell = tf.div(dy, gridY * gridX).reshape([boxes, outputHeight, 1, outputWidth, 1, channels]);
      const cellWeights = weights!.reshape([boxes, outputHeight, gridY, outputWidth, gridX, 1]);
      return [tf.mul(perCell, cellWeights).reshape([boxes, rows, columns, channels]), tf.zerosLike(weights!)];
    },
  );
  return pool(samples, mask) as tf.Tensor4D;
}

/** torchvision's `_pair`: one number means a square. */
export function sizePair(size: number | Size2D): Size2D {
  return typeof size === "number" ? [size, size] : size;
}

/** torchvision's `convert_boxes_to_roi_format`, split: boxes and the image each belongs to. */
export function concatenatePerImage(boxes: readonly tf.Tensor2D[]) {
  const imageOfBox = boxes.flatMap((perImage, image) => Array<number>(perImage.shape[0]).fill(image));
  return {
    corners: tf.concat(boxes as tf.Tensor2D[]) as tf.Tensor2D,
    imageIndex: tf.tensor1d(imageOfBox, "int32"),
  };
}

function splitRoiFormat(rois: tf.Tensor2D) {
  if (rois.shape[1] !== 5) {
    throw new Error(`roiAlign: boxes must be [K, 5] rows (imageIndex, x1, y1, x2, y2), got [${rois.shape}]`);
  }
  const [imageColumn, corners] = tf.split(rois, [1, 4], 1) as [tf.Tensor2D, tf.Tensor2D];
  return { corners, imageIndex: tf.cast(imageColumn.reshape([-1]), "int32") as tf.Tensor1D };
}
