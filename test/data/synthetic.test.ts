import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { Box, RgbImage } from "../../src/data/dataset.js";
import { drawBoxes, writePng } from "../../src/data/images.js";
import { syntheticDataset } from "../../src/data/synthetic.js";

const options = { seed: 7, imageSize: 96, trainCount: 40, valCount: 12 };

const meanColour = (image: RgbImage, [x1, y1, x2, y2]: Box): [number, number, number] => {
  let [r, g, b, count] = [0, 0, 0, 0];
  for (let y = Math.ceil(y1); y < Math.floor(y2); y++) {
    for (let x = Math.ceil(x1); x < Math.floor(x2); x++) {
      const at = (y * image.width + x) * 3;
      r += image.data[at]!;
      g += image.data[at + 1]!;
      b += image.data[at + 2]!;
      count++;
    }
  }
  return [r / count, g / count, b / count];
};

/** Tiles images into one, row by row, for looking at. */
function contactSheet(images: readonly RgbImage[], columns: number): RgbImage {
  const { width, height } = images[0]!;
  const gap = 4;
  const rows = Math.ceil(images.length / columns);
  const sheet = { width: columns * (width + gap) + gap, height: rows * (height + gap) + gap };
  const data = new Uint8Array(sheet.width * sheet.height * 3).fill(255);
  images.forEach((image, index) => {
    const left = gap + (index % columns) * (width + gap);
    const top = gap + Math.floor(index / columns) * (height + gap);
    for (let y = 0; y < height; y++) {
      data.set(image.data.subarray(y * width * 3, (y + 1) * width * 3), ((top + y) * sheet.width + left) * 3);
    }
  });
  return { ...sheet, data };
}

describe("synthetic dataset", () => {
  it("is deterministic per seed: same seed, same boxes and pixels", async () => {
    const first = syntheticDataset("train", options);
    const second = syntheticDataset("train", options);
    expect(second.samples.map((s) => [s.boxes, s.labels])).toEqual(first.samples.map((s) => [s.boxes, s.labels]));
    for (const index of [0, 5, 39]) {
      const [a, b] = await Promise.all([first.samples[index]!.loadImage(), second.samples[index]!.loadImage()]);
      expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(true);
    }
    // Loading twice gives the same image too: pixels are a function of the sample, not of call order.
    const again = await first.samples[0]!.loadImage();
    expect(Buffer.from(again.data).equals(Buffer.from((await second.samples[0]!.loadImage()).data))).toBe(true);
  });

  it("differs with the seed, and between train and val", async () => {
    const base = syntheticDataset("train", options);
    const otherSeed = syntheticDataset("train", { ...options, seed: 8 });
    const val = syntheticDataset("val", options);
    expect(otherSeed.samples[0]!.boxes).not.toEqual(base.samples[0]!.boxes);
    expect(val.samples[0]!.boxes).not.toEqual(base.samples[0]!.boxes);
    const [a, b] = await Promise.all([base.samples[0]!.loadImage(), otherSeed.samples[0]!.loadImage()]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(false);
  });

  it("has the configured counts, size and classes", () => {
    const train = syntheticDataset("train", options);
    const val = syntheticDataset("val", options);
    expect(train.samples).toHaveLength(40);
    expect(val.samples).toHaveLength(12);
    expect(train.split).toBe("train");
    expect(train.classNames).toEqual(["circle", "square", "triangle", "cross"]);
    expect(new Set(train.samples.map((s) => s.id)).size).toBe(40);
    const wide = syntheticDataset("val", { ...options, imageSize: { width: 120, height: 80 } });
    expect(wide.samples[0]).toMatchObject({ width: 120, height: 80 });
    expect(() => syntheticDataset("train", { imageSize: 8 })).toThrow("≥ 16");
  });

  it("places 1–4 disjoint objects of 12–45% of the side, inside the image, of every class", () => {
    const { samples } = syntheticDataset("train", { ...options, trainCount: 200 });
    const labelsSeen = new Set<number>();
    const counts = new Set<number>();
    for (const sample of samples) {
      counts.add(sample.boxes.length);
      sample.boxes.forEach(([x1, y1, x2, y2], i) => {
        expect(x1).toBeGreaterThanOrEqual(0);
        expect(y1).toBeGreaterThanOrEqual(0);
        expect(x2).toBeLessThanOrEqual(96);
        expect(y2).toBeLessThanOrEqual(96);
        const side = Math.sqrt((x2 - x1) * (y2 - y1));
        expect(side / 96).toBeGreaterThanOrEqual(0.12);
        expect(side / 96).toBeLessThanOrEqual(0.45);
        labelsSeen.add(sample.labels[i]!);
        for (const other of sample.boxes.slice(i + 1)) {
          const disjoint = other[0] >= x2 || x1 >= other[2] || other[1] >= y2 || y1 >= other[3];
          expect(disjoint).toBe(true);
        }
      });
      expect(sample.iscrowd.every((crowd) => !crowd)).toBe(true);
    }
    expect([...counts].sort()).toEqual([1, 2, 3, 4]);
    expect([...labelsSeen].sort()).toEqual([1, 2, 3, 4]);
  });

  it("draws each object in its class's colour family, standing out from the background", async () => {
    const { samples } = syntheticDataset("train", options);
    // Square (label 2) fills its box: its mean colour is the object's colour.
    const dominantChannel = { 2: 1 } as Record<number, number>;
    let checked = 0;
    for (const sample of samples) {
      const image = await sample.loadImage();
      sample.boxes.forEach((box, i) => {
        if (sample.labels[i] !== 2) return;
        const [r, g, b] = meanColour(image, box);
        expect([r, g, b].indexOf(Math.max(r, g, b))).toBe(dominantChannel[2]);
        expect(g - Math.min(r, b)).toBeGreaterThan(80); // saturated, unlike the dull background
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(5);
  });

  it("renders a contact sheet to look at: every object outlined in its class colour, where its box says", async () => {
    const { samples } = syntheticDataset("train", { seed: 1, imageSize: 128, trainCount: 12 });
    const colours: Record<number, [number, number, number]> = { 1: [255, 255, 255], 2: [255, 0, 255], 3: [0, 255, 255], 4: [0, 0, 0] };
    const images = await Promise.all(
      samples.map(async (sample) => {
        let image = await sample.loadImage();
        sample.boxes.forEach((box, i) => (image = drawBoxes(image, [box], colours[sample.labels[i]!]!)));
        return image;
      }),
    );
    const file = join(tmpdir(), `detc-synthetic-contact-sheet-${process.pid}.png`);
    await writePng(contactSheet(images, 4), file);
    // Read back what a person would see: the sheet's size, and each object's outline in its colour.
    const { data, info } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([4 * (128 + 4) + 4, 3 * (128 + 4) + 4]);
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    samples.forEach((sample, index) => {
      const left = 4 + (index % 4) * (128 + 4);
      const top = 4 + Math.floor(index / 4) * (128 + 4);
      // The last box drawn is never painted over: its four corners carry its class colour.
      const last = sample.boxes.length - 1;
      const [x1, y1, x2, y2] = sample.boxes[last]!;
      const colour = colours[sample.labels[last]!];
      for (const [x, y] of [[Math.floor(x1), Math.floor(y1)], [Math.ceil(x2) - 1, Math.floor(y1)], [Math.floor(x1), Math.ceil(y2) - 1], [Math.ceil(x2) - 1, Math.ceil(y2) - 1]] as const)
        expect(pixel(left + x, top + y), `sample ${index} corner (${x}, ${y})`).toEqual(colour);
    });
    expect(pixel(1, 1)).toEqual([255, 255, 255]); // the gap between tiles
    rmSync(file);
  });
});
