/**
 * GeneralizedRCNNTransform's `normalize` + `batch_images` against torchvision's: ImageNet mean and
 * std per channel, zero padding at the bottom and right up to a multiple of 32 (make_detection_goldens.py).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { FloatImage } from "../../src/data/transforms.js";
import { GeneralizedRCNNTransform } from "../../src/detection/transform.js";
import { BACKENDS, expectClose, golden, nchwToNhwc, useBackend } from "./support.js";

interface Stored {
  shape: number[];
  values: number[];
}

const c = golden<{ images: Stored[]; batched: Stored }>("transform");

/** A CHW torch image as detc's HWC float image. */
const floatImage = ({ shape, values }: Stored): FloatImage => {
  const [channels, height, width] = shape;
  return { width: width!, height: height!, data: nchwToNhwc(values, [1, channels!, height!, width!]) };
};

describe.each(BACKENDS)("GeneralizedRCNNTransform.batch on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("normalises with ImageNet's statistics and pads like torchvision's batch_images", () => {
    const transform = new GeneralizedRCNNTransform({ kind: "resize", min: 800, max: 1333 });
    const { tensors, imageSizes } = transform.batch(c.images.map(floatImage));
    const [n, ch, h, w] = c.batched.shape;
    expect(tensors.shape).toEqual([n, h, w, ch]);
    expect(imageSizes).toEqual(c.images.map(({ shape }) => [shape[1], shape[2]]));
    expectClose(tensors.dataSync(), nchwToNhwc(c.batched.values, c.batched.shape), 1e-5);
    tensors.dispose();
  });
});
