/**
 * Dataset images are read upright, as `detc predict` reads photos: the same file gives `detc eval`
 * and `detc predict` the same pixels, and a sideways photo annotated on its stored pixels fails loudly.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeImageFile, decodePhoto } from "../src/data/images.js";
import { loadVocDataset } from "../src/data/voc.js";
import { exifNotices } from "../src/train/datasets.js";
import { rawImage, taggedPhoto, uprightPixels } from "./support/photos.js";

/** A VOC folder with one image, `JPEGImages/image.jpg`, annotated as `width`×`height` with one dog at the square. */
function vocWith(width: number, height: number): string {
  const root = mkdtempSync(join(tmpdir(), "detc-upright-"));
  for (const dir of ["Annotations", "JPEGImages", "ImageSets/Main"]) mkdirSync(join(root, dir), { recursive: true });
  writeFileSync(join(root, "ImageSets/Main/train.txt"), "image\n");
  writeFileSync(
    join(root, "Annotations/image.xml"),
    `<annotation><filename>image.jpg</filename><size><width>${width}</width><height>${height}</height><depth>3</depth></size>` +
      "<object><name>dog</name><difficult>0</difficult><bndbox><xmin>9</xmin><ymin>7</ymin><xmax>32</xmax><ymax>22</ymax></bndbox></object></annotation>",
  );
  return root;
}

describe("dataset images, upright", () => {
  it.each([2, 3, 6, 8])("EXIF orientation %i: the dataset decoder gives the upright pixels, the same as detc predict's", async (orientation) => {
    const file = join(mkdtempSync(join(tmpdir(), "detc-upright-")), "o.png");
    await taggedPhoto(file, orientation);
    const fromDataset = await decodeImageFile(file, { width: 96, height: 64 });
    expect([fromDataset.width, fromDataset.height]).toEqual([96, 64]);
    expect(Buffer.from(fromDataset.data).equals(await uprightPixels())).toBe(true);
    expect(Buffer.from((await decodePhoto(file)).data).equals(Buffer.from(fromDataset.data))).toBe(true);
  });

  it("a VOC phone photo stored sideways (orientation 6) and annotated upright: eval and predict read the same pixels", async () => {
    const root = vocWith(96, 64);
    const file = join(root, "JPEGImages/image.jpg");
    await taggedPhoto(file, 6, "jpeg");
    const loaded = await loadVocDataset({ root, split: "train", classNames: ["dog"] });
    const image = await loaded.samples[0]!.loadImage();
    expect([image.width, image.height]).toEqual([96, 64]);
    expect(Buffer.from(image.data).equals(Buffer.from((await decodePhoto(file)).data))).toBe(true);
    // The annotated box, [8, 6, 32, 22], holds the bright square in the decoded pixels.
    const at = (x: number, y: number) => image.data[(y * 96 + x) * 3]!;
    expect(at(20, 14)).toBeGreaterThan(200);
    expect(at(60, 40)).toBeLessThan(80);
  });

  it("annotated on its stored, sideways pixels: an error that names the cause, not silently wrong boxes", async () => {
    const root = vocWith(64, 96);
    await taggedPhoto(join(root, "JPEGImages/image.jpg"), 6, "jpeg");
    const loaded = await loadVocDataset({ root, split: "train", classNames: ["dog"] });
    await expect(loaded.samples[0]!.loadImage()).rejects.toThrow(/image is 96×64 but its annotation says 64×96 \(turned a quarter: .*exiftool -Orientation=1 -n/);
  });

  it("counts the photos EXIF turns, for a one-line notice per dataset", async () => {
    const root = vocWith(96, 64);
    await taggedPhoto(join(root, "JPEGImages/image.jpg"), 6, "jpeg");
    writeFileSync(join(root, "ImageSets/Main/train.txt"), "image\nplain\n");
    writeFileSync(join(root, "Annotations/plain.xml"), readFileSync(join(root, "Annotations/image.xml"), "utf8").replace("image.jpg", "plain.jpg"));
    await rawImage(await uprightPixels(), 96, 64).jpeg().toFile(join(root, "JPEGImages/plain.jpg"));
    const loaded = await loadVocDataset({ root, split: "train", classNames: ["dog"] });
    expect(loaded.turnedByExif).toBe(1);
    expect(exifNotices(loaded, loaded)).toEqual(["voc train: 1 of 2 images rotated by EXIF (read upright, as annotation tools show them)"]);
  });
});
