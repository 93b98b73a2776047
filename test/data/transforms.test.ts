import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Box, DetectionSample, RgbImage } from "../../src/data/dataset.js";
import { seededRandom } from "../../src/util/random.js";
import {
  flipBoxesHorizontally,
  flipImageHorizontally,
  prepareExample,
  resizeBilinear,
  resizeBoxes,
  resizedSize,
  resizeScale,
} from "../../src/data/transforms.js";

interface Goldens {
  sizes: { input: [number, number]; minSize: number; maxSize: number; output: [number, number] }[];
  resizes: {
    input: [number, number];
    minSize: number;
    maxSize: number;
    output: [number, number];
    box: number[];
    resizedBox: number[];
    pixels: number[];
  }[];
}
const goldens = JSON.parse(
  readFileSync(join(import.meta.dirname, "..", "fixtures", "data", "torchvision-transform.json"), "utf8"),
) as Goldens;

/** The image make_transform_goldens.py resizes: byte i of the HWC data is i·37 mod 256. */
const testImage = (height: number, width: number): RgbImage => ({
  width,
  height,
  data: Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 37) % 256),
});

const pixelAt = (image: { width: number; data: ArrayLike<number> }, x: number, y: number): number[] =>
  Array.from({ length: 3 }, (_, c) => image.data[(y * image.width + x) * 3 + c]!);

describe("resize (torchvision's GeneralizedRCNNTransform)", () => {
  it.each(goldens.sizes)("sizes $input like torchvision → $output", ({ input: [height, width], minSize, maxSize, output }) => {
    expect(resizedSize({ width, height }, minSize, maxSize)).toEqual({ height: output[0], width: output[1] });
  });

  it("scales the shorter side to minSize unless the longer would pass maxSize", () => {
    expect(resizeScale({ width: 640, height: 480 }, 800, 1333)).toBeCloseTo(800 / 480, 6);
    expect(resizeScale({ width: 2000, height: 500 }, 800, 1333)).toBeCloseTo(1333 / 2000, 6);
    expect(resizeScale({ width: 100, height: 100 }, 50, 1000)).toBe(0.5);
  });

  it("rejects a size that leaves no pixels", () => {
    expect(() => resizedSize({ width: 3000, height: 1 }, 800, 1333)).toThrow("3000×1 image resized for min 800 / max 1333 has no pixels left");
  });

  it.each(goldens.resizes)(
    "resizes $input to $output with torch's bilinear pixels and box ratios",
    ({ input: [height, width], minSize, maxSize, output, box, resizedBox, pixels }) => {
      const image = testImage(height, width);
      const size = resizedSize(image, minSize, maxSize);
      expect([size.height, size.width]).toEqual(output);
      const resized = resizeBilinear(image, size);
      expect(resized.data).toHaveLength(pixels.length);
      const worst = pixels.reduce((max, value, i) => Math.max(max, Math.abs(value - resized.data[i]!)), 0);
      expect(worst).toBeLessThan(1e-6);
      const [scaled] = resizeBoxes([box as unknown as Box], image, size);
      scaled!.forEach((value, i) => expect(value).toBeCloseTo(resizedBox[i]!, 5));
    },
  );

  it("keeps an image of the target size as its ToTensor() values", () => {
    const image = testImage(4, 6);
    const same = resizeBilinear(image, { width: 6, height: 4 });
    expect(Array.from(same.data, (v) => Math.round(v * 255))).toEqual([...image.data]);
  });

  it("scales boxes by each axis's size ratio", () => {
    expect(resizeBoxes([[10, 20, 30, 40]], { width: 100, height: 50 }, { width: 200, height: 25 })).toEqual([[20, 10, 60, 20]]);
  });
});

describe("horizontal flip", () => {
  it("mirrors pixels and boxes consistently", () => {
    const image = testImage(3, 5);
    const flipped = flipImageHorizontally(image);
    expect(pixelAt(flipped, 0, 1)).toEqual(pixelAt(image, 4, 1));
    expect(pixelAt(flipped, 3, 2)).toEqual(pixelAt(image, 1, 2));
    expect(flipImageHorizontally(flipped)).toEqual(image);
    // The box over column 1 (x ∈ [1, 2)) lands over column 3 in a 5-wide image.
    expect(flipBoxesHorizontally([[1, 0, 2, 3]], 5)).toEqual([[3, 0, 4, 3]]);
    const boxes: Box[] = [[0.5, 1, 4.25, 2]];
    expect(flipBoxesHorizontally(flipBoxesHorizontally(boxes, 5), 5)).toEqual(boxes);
  });
});

describe("prepareExample", () => {
  const sample: DetectionSample = {
    id: 42,
    name: "x",
    width: 20,
    height: 10,
    boxes: [
      [0, 0, 20, 10],
      [2, 1, 6, 5],
    ],
    labels: [3, 1],
    iscrowd: [true, false],
    difficult: [false, false],
    areas: [200, 16],
    loadImage: async () => testImage(10, 20),
  };
  const image = testImage(10, 20);

  it("evaluates at the last min size, unflipped, with crowd boxes left out of the targets", () => {
    const example = prepareExample(sample, image, { minSize: [10, 20], maxSize: 100, flipProbability: 1, training: false }, seededRandom(0));
    expect(example).toMatchObject({ sampleId: 42, flipped: false, originalSize: { width: 20, height: 10 }, labels: [1] });
    expect([example.image.width, example.image.height]).toEqual([40, 20]);
    expect(example.boxes).toEqual([[4, 2, 12, 10]]);
  });

  it("trains with flips and a min size drawn from the list, reproducibly from the random stream", () => {
    const options = { minSize: [10, 20, 30], maxSize: 1000, flipProbability: 1, training: true };
    const example = prepareExample(sample, image, options, seededRandom(5));
    expect(example.flipped).toBe(true);
    const scale = example.image.height / 10;
    expect([1, 2, 3]).toContain(scale);
    expect(example.boxes).toEqual([[(20 - 6) * scale, 1 * scale, (20 - 2) * scale, 5 * scale]]);
    expect(prepareExample(sample, image, options, seededRandom(5))).toEqual(example);
    const heights = new Set(Array.from({ length: 30 }, (_, seed) => prepareExample(sample, image, options, seededRandom(seed)).image.height));
    expect([...heights].sort((a, b) => a - b)).toEqual([10, 20, 30]);
  });

  it("never flips with probability 0", () => {
    const options = { minSize: 10, maxSize: 1000, flipProbability: 0, training: true };
    for (let seed = 0; seed < 20; seed++) expect(prepareExample(sample, image, options, seededRandom(seed)).flipped).toBe(false);
  });
});
