import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { beforeAll, describe, expect, it } from "vitest";
import { DatasetError } from "../../src/data/dataset.js";
import { decodeImageFile, drawBoxes, writePng } from "../../src/data/images.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "detc-images-"));
});

describe("decodeImageFile", () => {
  it("decodes a PNG to exact RGB bytes, row-major HWC", async () => {
    const pixels = Uint8Array.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 9, 8, 7, 1, 2, 3, 4, 5, 6]); // 3×2
    const file = join(dir, "pixels.png");
    await writePng({ width: 3, height: 2, data: pixels }, file);
    const image = await decodeImageFile(file);
    expect(image).toEqual({ width: 3, height: 2, data: pixels });
  });

  it("expands grey to RGB and drops alpha without compositing, as PIL's convert('RGB')", async () => {
    const grey = join(dir, "grey.png");
    await sharp(Buffer.from([10, 200]), { raw: { width: 2, height: 1, channels: 1 } }).png().toFile(grey);
    expect([...(await decodeImageFile(grey)).data]).toEqual([10, 10, 10, 200, 200, 200]);
    const rgba = join(dir, "rgba.png");
    await sharp(Buffer.from([10, 20, 30, 0, 40, 50, 60, 128]), { raw: { width: 2, height: 1, channels: 4 } }).png().toFile(rgba);
    expect([...(await decodeImageFile(rgba)).data]).toEqual([10, 20, 30, 40, 50, 60]);
  });

  it("brings a 16-bit PNG to 8 bits", async () => {
    const file = join(dir, "deep.png");
    const samples = Uint16Array.from([65535, 0, 32896]);
    await sharp(samples, { raw: { width: 1, height: 1, channels: 3 } })
      .toColourspace("rgb16")
      .png()
      .toFile(file);
    expect((await sharp(file).metadata()).depth).toBe("ushort");
    expect([...(await decodeImageFile(file)).data]).toEqual([255, 0, 128]);
  });

  it("names the file of a missing, corrupt or wrongly sized image", async () => {
    const missing = join(dir, "missing.jpg");
    await expect(decodeImageFile(missing)).rejects.toThrow(new DatasetError(missing, undefined, "image file not found"));
    const corrupt = join(dir, "corrupt.jpg");
    await writeFile(corrupt, "not a jpeg at all");
    await expect(decodeImageFile(corrupt)).rejects.toThrow(`${corrupt}: cannot decode image (`);
    const truncated = join(dir, "truncated.jpg");
    const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: "#808080" } }).jpeg().toBuffer();
    await writeFile(truncated, jpeg.subarray(0, jpeg.length / 2));
    await expect(decodeImageFile(truncated)).rejects.toThrow(`${truncated}: cannot decode image (`);
    const small = join(dir, "pixels.png");
    await expect(decodeImageFile(small, { width: 4, height: 2 })).rejects.toThrow(
      `${small}: image is 3×2 but its annotation says 4×2`,
    );
  });
});

describe("drawBoxes", () => {
  it("outlines the pixels a box covers, on a copy", () => {
    const image = { width: 5, height: 4, data: new Uint8Array(5 * 4 * 3) };
    const drawn = drawBoxes(image, [[1, 0.5, 4, 3]], [255, 1, 2]);
    const marked = (x: number, y: number): boolean => drawn.data[(y * 5 + x) * 3] === 255;
    const rows = [0, 1, 2, 3].map((y) => [0, 1, 2, 3, 4].map((x) => (marked(x, y) ? "#" : ".")).join(""));
    expect(rows).toEqual([".###.", ".#.#.", ".###.", "....."]);
    expect(image.data.every((v) => v === 0)).toBe(true);
  });
});
