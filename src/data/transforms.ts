/**
 * Per-image transforms before the model: horizontal flip (training augmentation, as torchvision's
 * reference `RandomHorizontalFlip`) and the resize of torchvision's `GeneralizedRCNNTransform`,
 * reproduced exactly — including its float32 scale and `floor` output size (with min 800 / max 1333
 * a 375×500 image becomes 799×1066, a 480×640 one 800×1066) and `F.interpolate(mode="bilinear",
 * align_corners=False)` without antialiasing — so imported torchvision weights see the same pixels.
 * test/fixtures/data/make_transform_goldens.py records torchvision's numbers for the tests.
 *
 * Normalisation (mean/std) and padding to a batch happen in the model. Both are linear, so
 * resizing before normalising gives torchvision's normalise-then-resize result.
 */
import type { DetectorSpec } from "../check/detector-spec.js";
import type { Box, DetectionSample, RgbImage } from "./dataset.js";
import type { ImageSize } from "./images.js";
import type { Random } from "../util/random.js";
import { elementAt } from "../util/element-at.js";

/**
 * Float RGB in [0, 1] (torchvision's `ToTensor()` values), row-major HWC as TensorFlow wants it:
 * `tf.tensor3d(image.data, [image.height, image.width, 3])`.
 */
export interface FloatImage {
  readonly width: number;
  readonly height: number;
  readonly data: Float32Array;
}

/**
 * `min(minSize / shorter side, maxSize / longer side)` as torchvision computes it: a Python float
 * over a float32 tensor, which torch evaluates as `reciprocal(side) * size` in float32.
 */
export function resizeScale(size: ImageSize, minSize: number, maxSize: number): number {
  const divide = (numerator: number, side: number): number => Math.fround(Math.fround(1 / side) * numerator);
  const shorter = Math.min(size.width, size.height);
  const longer = Math.max(size.width, size.height);
  return Math.min(divide(minSize, shorter), divide(maxSize, longer));
}

/** The size `F.interpolate(scale_factor=scale, recompute_scale_factor=True)` produces. */
export function resizedSize(size: ImageSize, minSize: number, maxSize: number): ImageSize {
  const scale = resizeScale(size, minSize, maxSize);
  const resized = { width: Math.floor(size.width * scale), height: Math.floor(size.height * scale) };
  if (resized.width === 0 || resized.height === 0) {
    const image = `${size.width}×${size.height} image`;
    throw new RangeError(`a ${image} resized for min ${minSize} / max ${maxSize} has no pixels left`);
  }
  return resized;
}

/** The size the detector resizes `image` to: `min_size`/`max_size`, or torchvision's `fixed_size`. */
export function modelInputSize(input: DetectorSpec["input"], image: ImageSize): ImageSize {
  return input.kind === "exact" ? { width: input.width, height: input.height } : resizedSize(image, input.min, input.max);
}

interface AxisSampling {
  readonly lower: Int32Array;
  readonly upper: Int32Array;
  readonly upperWeight: Float64Array;
}

/** Source pixels and weights along one axis, as ATen's bilinear kernel with align_corners=False. */
function axisSampling(inputLength: number, outputLength: number): AxisSampling {
  const scale = inputLength / outputLength;
  const lower = new Int32Array(outputLength);
  const upper = new Int32Array(outputLength);
  const upperWeight = new Float64Array(outputLength);
  for (let i = 0; i < outputLength; i++) {
    const source = Math.max(0, (i + 0.5) * scale - 0.5);
    const below = Math.floor(source);
    lower[i] = below;
    upper[i] = below < inputLength - 1 ? below + 1 : below;
    upperWeight[i] = source - below;
  }
  return { lower, upper, upperWeight };
}

/** Bilinear resize to `size`, returning floats in [0, 1]. */
export function resizeBilinear(image: RgbImage, size: ImageSize): FloatImage {
  const rows = axisSampling(image.height, size.height);
  const columns = axisSampling(image.width, size.width);
  const input = image.data;
  const output = new Float32Array(size.width * size.height * 3);
  const pixel = (row: number, column: number, c: number) => elementAt(input, (row + column) * 3 + c);
  let out = 0;
  for (let y = 0; y < size.height; y++) {
    const topRow = elementAt(rows.lower, y) * image.width;
    const bottomRow = elementAt(rows.upper, y) * image.width;
    const bottomWeight = elementAt(rows.upperWeight, y);
    for (let x = 0; x < size.width; x++) {
      const left = elementAt(columns.lower, x);
      const right = elementAt(columns.upper, x);
      const rightWeight = elementAt(columns.upperWeight, x);
      for (let c = 0; c < 3; c++) {
        const top = pixel(topRow, left, c) * (1 - rightWeight) + pixel(topRow, right, c) * rightWeight;
        const bottom = pixel(bottomRow, left, c) * (1 - rightWeight) + pixel(bottomRow, right, c) * rightWeight;
        output[out++] = (top * (1 - bottomWeight) + bottom * bottomWeight) / 255;
      }
    }
  }
  return { width: size.width, height: size.height, data: output };
}

/** torchvision's `resize_boxes`: each axis scaled by new/old size (float32 ratios). */
export function resizeBoxes(boxes: readonly Box[], from: ImageSize, to: ImageSize): Box[] {
  const ratioX = Math.fround(to.width / from.width);
  const ratioY = Math.fround(to.height / from.height);
  return boxes.map(([x1, y1, x2, y2]) => [x1 * ratioX, y1 * ratioY, x2 * ratioX, y2 * ratioY]);
}

export function flipImageHorizontally(image: RgbImage): RgbImage {
  const data = new Uint8Array(image.data.length);
  for (let y = 0; y < image.height; y++) {
    const row = y * image.width;
    for (let x = 0; x < image.width; x++) {
      data.set(image.data.subarray((row + x) * 3, (row + x) * 3 + 3), (row + image.width - 1 - x) * 3);
    }
  }
  return { width: image.width, height: image.height, data };
}

/** Mirrors boxes in an image `width` pixels wide: x ↦ width − x, swapping the two x corners. */
export function flipBoxesHorizontally(boxes: readonly Box[], width: number): Box[] {
  return boxes.map(([x1, y1, x2, y2]) => [width - x2, y1, width - x1, y2]);
}

export interface ExampleOptions {
  /**
   * Target length of the shorter side. With several, training picks one per image at random
   * (multi-scale training) and evaluation uses the last, as torchvision does.
   */
  readonly minSize: number | readonly number[];
  /** Cap on the longer side. */
  readonly maxSize: number;
  /** Resize to exactly this size instead, aspect ratio not kept (torchvision's `fixed_size`; a spec's `input HxW`). */
  readonly fixedSize?: ImageSize;
  /** In training, the probability of a horizontal flip (torchvision's reference: 0.5). */
  readonly flipProbability: number;
  /** Training draws augmentation from `random`; evaluation is deterministic and never flips. */
  readonly training: boolean;
}

/** One image as the model takes it, with its targets in the resized image's pixels. */
export interface Example {
  readonly sampleId: number;
  readonly image: FloatImage;
  /** Non-crowd boxes only: torchvision's reference trains on no crowd region. */
  readonly boxes: readonly Box[];
  readonly labels: readonly number[];
  /** The decoded image's size, to map predicted boxes back (`resizeBoxes(boxes, imageSize, originalSize)`). */
  readonly originalSize: ImageSize;
  readonly flipped: boolean;
}

export function prepareExample(
  sample: DetectionSample,
  image: RgbImage,
  options: ExampleOptions,
  random: Random,
): Example {
  const minSizes = typeof options.minSize === "number" ? [options.minSize] : options.minSize;
  const minSize = elementAt(minSizes, options.training ? Math.floor(random() * minSizes.length) : minSizes.length - 1);
  const flipped = options.training && random() < options.flipProbability;

  const kept = sample.iscrowd.flatMap((crowd, index) => (crowd ? [] : [index]));
  const boxes = kept.map((index) => elementAt(sample.boxes, index));
  const flippedImage = flipped ? flipImageHorizontally(image) : image;
  const flippedBoxes = flipped ? flipBoxesHorizontally(boxes, image.width) : boxes;
  const size = options.fixedSize ?? resizedSize(image, minSize, options.maxSize);
  return {
    sampleId: sample.id,
    image: resizeBilinear(flippedImage, size),
    boxes: resizeBoxes(flippedBoxes, image, size),
    labels: kept.map((index) => elementAt(sample.labels, index)),
    originalSize: { width: image.width, height: image.height },
    flipped,
  };
}
