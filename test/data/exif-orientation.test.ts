/** The EXIF orientation read from a JPEG's first page, against libvips' reading of the same files. */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { jpegOrientation } from "../../src/data/exif-orientation.js";
import { countTurnedImages } from "../../src/data/images.js";
import { rawImage, taggedPhoto, uprightPixels, PHOTO_HEIGHT, PHOTO_WIDTH } from "../support/photos.js";

const temp = () => mkdtempSync(join(tmpdir(), "detc-exif-"));

/** SOI, then one APP1 `Exif` segment holding a big-endian ("MM") TIFF header and one IFD entry. */
function bigEndianExif(orientation: number): Uint8Array {
  const tiff = [0x4d, 0x4d, 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, orientation, 0, 0, 0, 0, 0, 0, 0, 0];
  const body = [..."Exif"].map((c) => c.charCodeAt(0)).concat([0, 0], tiff);
  const length = body.length + 2;
  return Uint8Array.from([0xff, 0xd8, 0xff, 0xe1, length >> 8, length & 0xff, ...body, 0xff, 0xda, 0, 2]);
}

describe("a JPEG's EXIF orientation from its first page", () => {
  it.each([1, 2, 3, 4, 5, 6, 7, 8])("orientation %i: the same as libvips reads", async (orientation) => {
    const file = join(temp(), "photo.jpg");
    await sharp(await uprightPixels(), { raw: { width: PHOTO_WIDTH, height: PHOTO_HEIGHT, channels: 3 } })
      .withMetadata({ orientation })
      .jpeg()
      .toFile(file);
    expect((await sharp(file).metadata()).orientation).toBe(orientation);
    expect(jpegOrientation(readFileSync(file).subarray(0, 4096))).toBe(orientation);
  });

  it("1 for a JPEG without EXIF, undefined where the page cannot tell (PNG, cut off, big-endian read right)", async () => {
    const plain = await rawImage(await uprightPixels(), PHOTO_WIDTH, PHOTO_HEIGHT).jpeg().toBuffer();
    expect(jpegOrientation(plain)).toBe(1);
    const png = await rawImage(await uprightPixels(), PHOTO_WIDTH, PHOTO_HEIGHT).png().toBuffer();
    expect(jpegOrientation(png)).toBeUndefined();
    const exif = bigEndianExif(6);
    expect(jpegOrientation(exif)).toBe(6);
    expect(jpegOrientation(exif.subarray(0, 20))).toBeUndefined();
    expect(jpegOrientation(bigEndianExif(9))).toBeUndefined();
  });

  it("counting a folder: JPEGs by their header, a tagged PNG by libvips, an unreadable file as not turned", async () => {
    const dir = temp();
    await taggedPhoto(join(dir, "a.jpg"), 6, "jpeg");
    await taggedPhoto(join(dir, "b.jpg"), 3, "jpeg");
    await taggedPhoto(join(dir, "c.png"), 8, "png");
    await rawImage(await uprightPixels(), PHOTO_WIDTH, PHOTO_HEIGHT).jpeg().toFile(join(dir, "d.jpg"));
    writeFileSync(join(dir, "e.jpg"), "not an image");
    const files = ["a.jpg", "b.jpg", "c.png", "d.jpg", "e.jpg", "missing.jpg"].map((f) => join(dir, f));
    expect(await countTurnedImages(files)).toBe(3);
  });
});
