/**
 * torchvision's `GeneralizedRCNNTransform` (`models/detection/transform.py`): images resized to the
 * model's size (with their boxes), normalised with ImageNet's mean and std, and batched with zero
 * padding to a multiple of 32; detections mapped back to each original image.
 *
 * Resizing runs on the host with `data/transforms.ts`, which reproduces torchvision's sizes and
 * bilinear pixels; the training pipeline resizes there too (with its augmentation), so the model
 * takes already-resized `FloatImage`s and this class batches them.
 */
import { SIZE_DIVISIBLE } from "../util/torchvision.js";
import * as tf from "@tensorflow/tfjs";
import type { DetectorSpec } from "../check/detector-spec.js";
import type { Box, RgbImage } from "../data/dataset.js";
import type { ImageSize } from "../data/images.js";
import { modelInputSize, resizeBilinear, resizeBoxes, type FloatImage } from "../data/transforms.js";
import type { Size2D } from "./geometry.js";

/** torchvision's `ImageList`: a padded batch `[N, H, W, 3]` and each image's size before padding. */
export interface ImageList {
  readonly tensors: tf.Tensor4D;
  readonly imageSizes: Size2D[];
}

/** The ImageNet statistics torchvision's detection models normalise RGB in [0, 1] with. */
export const IMAGE_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGE_STD = [0.229, 0.224, 0.225] as const;
/** `size_divisible`: padded batches are a multiple of this in height and width. */

export class GeneralizedRCNNTransform {
  constructor(
    /** `min_size`/`max_size` resizing, or torchvision's `fixed_size` for an exact height × width. */
    readonly input: DetectorSpec["input"],
    readonly imageMean: readonly number[] = IMAGE_MEAN,
    readonly imageStd: readonly number[] = IMAGE_STD,
    readonly sizeDivisible = SIZE_DIVISIBLE,
  ) {}

  /** The size `image` is resized to. */
  resizedSize(image: ImageSize): ImageSize {
    return modelInputSize(this.input, image);
  }

  /** `resize`: the image as floats in [0, 1] at the model's size, and `boxes` scaled with it. */
  resize(image: RgbImage, boxes: readonly Box[] = []): { image: FloatImage; boxes: Box[] } {
    const size = this.resizedSize(image);
    return { image: resizeBilinear(image, size), boxes: resizeBoxes(boxes, image, size) };
  }

  /** `normalize` then `batch_images`: zero padding at the bottom and right of each image. */
  batch(images: readonly FloatImage[]): ImageList {
    const roundUp = (side: number) => Math.ceil(side / this.sizeDivisible) * this.sizeDivisible;
    const height = roundUp(Math.max(...images.map((image) => image.height)));
    const width = roundUp(Math.max(...images.map((image) => image.width)));
    const tensors = tf.tidy(() => {
      const mean = tf.tensor1d([...this.imageMean]);
      const std = tf.tensor1d([...this.imageStd]);
      return tf.stack(
        images.map((image) => {
          const normalised = tf.div(tf.sub(tf.tensor3d(image.data, [image.height, image.width, 3]), mean), std);
          return tf.pad(normalised, [[0, height - image.height], [0, width - image.width], [0, 0]]);
        }),
      ) as tf.Tensor4D;
    });
    return { tensors, imageSizes: images.map((image): Size2D => [image.height, image.width]) };
  }

  /** `postprocess`: boxes on the resized image back in the original image's pixels. */
  postprocess(boxes: readonly Box[], resized: ImageSize, original: ImageSize): Box[] {
    return resizeBoxes(boxes, resized, original);
  }
}
