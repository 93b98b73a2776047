/** Images as people's cameras make them: EXIF orientation, transparency, and drawings that scale with the photo. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, inject, it } from "vitest";
import { decodePhoto, drawingSizes, writeDetectionsPng } from "../src/data/images.js";
import { rawImage, taggedPhoto, uprightPixels } from "./support/photos.js";
import { tinyDetectorSource } from "./support/tiny-detector.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const temp = () => mkdtempSync(join(tmpdir(), "detc-photo-"));

describe("decodePhoto", () => {
  it.each([2, 3, 6, 8])("turns an image tagged with EXIF orientation %i upright, pixel for pixel", async (orientation) => {
    const file = join(temp(), `o${orientation}.png`);
    await taggedPhoto(file, orientation);
    expect((await sharp(file).metadata()).orientation).toBe(orientation);
    const photo = await decodePhoto(file);
    expect([photo.width, photo.height]).toEqual([96, 64]);
    expect(Buffer.from(photo.data).equals(await uprightPixels())).toBe(true);
  });

  it("a portrait phone JPEG (stored sideways, orientation 6) comes out upright", async () => {
    const file = join(temp(), "phone.jpg");
    await taggedPhoto(file, 6, "jpeg");
    const photo = await decodePhoto(file);
    expect([photo.width, photo.height]).toEqual([96, 64]);
    const upright = await uprightPixels();
    const difference = photo.data.reduce((sum, value, i) => sum + Math.abs(value - upright[i]!), 0) / photo.data.length;
    expect(difference).toBeLessThan(4);
  });

  it("composites transparency on white", async () => {
    const file = join(temp(), "alpha.png");
    const pixels = Buffer.from([255, 0, 0, 0, /* clear */ 255, 0, 0, 128, /* half red */ 0, 0, 255, 255 /* blue */]);
    await sharp(pixels, { raw: { width: 3, height: 1, channels: 4 } }).png().toFile(file);
    const photo = await decodePhoto(file);
    expect(Array.from(photo.data.subarray(0, 3))).toEqual([255, 255, 255]);
    expect(photo.data[3]).toBe(255);
    expect(Math.abs(photo.data[4]! - 127)).toBeLessThanOrEqual(2);
    expect(Array.from(photo.data.subarray(6, 9))).toEqual([0, 0, 255]);
  });
});

describe("drawn detections scale with the image", () => {
  it("a 4000-px photo gets lines and captions in proportion, a 640-px one 2 px and 13 px", () => {
    expect(drawingSizes({ width: 640, height: 480 })).toEqual({ line: 2, font: 13 });
    expect(drawingSizes({ width: 128, height: 128 })).toEqual({ line: 2, font: 10 });
    const big = drawingSizes({ width: 4000, height: 3000 });
    expect(big.line).toBeGreaterThanOrEqual(12);
    expect(big.font).toBeGreaterThanOrEqual(80);
  });

  it("draws the box outline that wide on the image, with its caption above", async () => {
    const [width, height] = [4000, 3000];
    const image = { width, height, data: new Uint8Array(width * height * 3) };
    const file = join(temp(), "big.png");
    await writeDetectionsPng(image, [{ box: [1000, 1000, 3000, 2000], label: 1, text: "cat 0.97" }], file);
    const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    const painted = (x: number, y: number) => data[(y * width + x) * 3]! > 100;
    // Down a column through the box's top edge, away from the caption: the outline's thickness.
    let outline = 0;
    for (let y = 960; y < 1040; y++) if (painted(2900, y)) outline++;
    expect(outline).toBeGreaterThanOrEqual(drawingSizes(image).line - 1);
    // The caption's background sits just above the box's left end.
    expect(painted(1010, 1000 - Math.round(drawingSizes(image).font / 2))).toBe(true);
  });
});

describe("detc predict on a phone photo", () => {
  it("gives an EXIF-rotated image the detections of the upright one, in the upright image's pixels", () => {
    const dir = temp();
    const spec = join(dir, "tiny.det");
    writeFileSync(spec, tinyDetectorSource({ train: "batch_size 2 epochs 1 lr 0.01 warmup_steps 2 checkpoint_every 1 frozen_batch_norm false" }));
    const run = spawnSync(process.execPath, [cli, "run", spec, "--out", join(dir, "run"), "--max-steps", "1", "--json"], { cwd: root, encoding: "utf8" });
    expect(run.status, run.stderr).toBe(0);
    return (async () => {
      const upright = join(dir, "upright.png");
      await rawImage(await uprightPixels(), 96, 64).png().toFile(upright);
      const rotated = join(dir, "rotated.png");
      await taggedPhoto(rotated, 6);
      const weights = join(dir, "run", "checkpoint.safetensors");
      const predict = (image: string) => {
        const result = spawnSync(process.execPath, [cli, "predict", spec, "--weights", weights, image, "--min-score", "0", "--json", "--draw", join(dir, "drawn")], { cwd: root, encoding: "utf8" });
        expect(result.status, result.stderr).toBe(0);
        return JSON.parse(result.stdout)[0].detections;
      };
      const expected = predict(upright);
      expect(expected.length).toBeGreaterThan(0);
      expect(predict(rotated)).toEqual(expected);
      for (const { box } of expected) expect(box[2] <= 96.001 && box[3] <= 64.001, JSON.stringify(box)).toBe(true); // float32 rescaling
      const drawn = await sharp(join(dir, "drawn", "rotated.png")).metadata();
      expect([drawn.width, drawn.height]).toEqual([96, 64]);
    })();
  }, 300_000);
});
