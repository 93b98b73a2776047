import { cp, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DatasetError } from "../../src/data/dataset.js";
import { loadVocDataset, parseVocAnnotation, VOC_CLASS_NAMES } from "../../src/data/voc.js";

const root = join(import.meta.dirname, "..", "fixtures", "data", "voc");

/** A one-object annotation with `object` as the object's inner XML. */
const annotation = (object: string, size = "<size><width>100</width><height>80</height></size>"): string =>
  `<annotation>\n  ${size}\n  <object>${object}</object>\n</annotation>\n`;
const box = (xmin: number | string, ymin: number, xmax: number, ymax: number): string =>
  `<bndbox><xmin>${xmin}</xmin><ymin>${ymin}</ymin><xmax>${xmax}</xmax><ymax>${ymax}</ymax></bndbox>`;

function errorOf(run: () => unknown): DatasetError {
  try {
    run();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error("expected a DatasetError");
}

describe("VOC loading", () => {
  it("reads a split with VOC's 20 classes, 1-based inclusive pixels made continuous", async () => {
    const dataset = await loadVocDataset({ root, split: "train" });
    expect(dataset.kind).toBe("voc");
    expect(dataset.classNames).toEqual(VOC_CLASS_NAMES);
    expect(dataset.classNames).toHaveLength(20);
    const [first, second] = dataset.samples;
    if (!first || !second) throw new Error(`expected two samples, got ${dataset.samples.length}`);
    expect(first).toMatchObject({ id: 1, name: "000001", width: 50, height: 40 });
    // xmin=1..xmax=50 is the whole 50-pixel row: [0, 50].
    expect(first.boxes).toEqual([
      [0, 0, 50, 40],
      [10, 5, 20, 30],
    ]);
    expect(first.labels).toEqual([12, 15]); // dog, person
    expect(first.difficult).toEqual([false, true]);
    expect(first.iscrowd).toEqual([false, false]);
    expect(first.areas).toEqual([2000, 250]);
    // xmax=31 in a 30-wide image overshoots by 1 px: clipped; the tvmonitor 10 px out is skipped.
    expect(second.boxes).toEqual([[2.5, 1, 30, 12]]);
    expect(second.labels).toEqual([1]);
    expect(dataset.warnings).toEqual([
      {
        file: join(root, "Annotations", "000002.xml"),
        record: 'object #2 ("tvmonitor")',
        message: "box [4, 4, 40, 10] reaches 10 px outside the 30×20 image (more than 1 px); box skipped",
      },
    ]);
    const image = await first.loadImage();
    expect([image.width, image.height]).toEqual([50, 40]);
  });

  it("keeps images without objects and takes class names from the caller", async () => {
    const val = await loadVocDataset({ root, split: "val" });
    expect(val.samples).toHaveLength(1);
    expect(val.samples[0]).toMatchObject({ name: "000003", boxes: [] });
    const custom = await loadVocDataset({ root, split: "trainval", classNames: ["person", "dog", "aeroplane", "tvmonitor"] });
    expect(custom.classNames).toEqual(["person", "dog", "aeroplane", "tvmonitor"]);
    expect(custom.samples.map((s) => s.labels)).toEqual([[2, 1], [3], []]);
  });

  it("rejects an object whose class is not among the given names, suggesting the nearest", async () => {
    await expect(loadVocDataset({ root, split: "train", classNames: ["person", "dgo", "aeroplane"] })).rejects.toThrow(
      `${join(root, "Annotations", "000001.xml")}: object #1 ("dog"): unknown class "dog" (did you mean "dgo"? classes are person, dgo, aeroplane)`,
    );
  });

  it("says so when no class comes close", async () => {
    await expect(loadVocDataset({ root, split: "train", classNames: ["zebra"] })).rejects.toThrow(
      'object #1 ("dog"): unknown class "dog" (classes are zebra)',
    );
  });

  it("reports a missing split list, annotation file or image", async () => {
    const dir = await mkdtemp(join(tmpdir(), "detc-voc-"));
    await expect(loadVocDataset({ root: dir, split: "train" })).rejects.toThrow(`${join(dir, "ImageSets", "Main", "train.txt")}: split list not found`);

    await cp(join(root, "ImageSets"), join(dir, "ImageSets"), { recursive: true });
    await expect(loadVocDataset({ root: dir, split: "train" })).rejects.toThrow(
      `${join(dir, "Annotations", "000001.xml")}: annotation file for "000001" (listed in ${join(dir, "ImageSets", "Main", "train.txt")}) not found`,
    );

    await cp(join(root, "Annotations"), join(dir, "Annotations"), { recursive: true });
    await expect(loadVocDataset({ root: dir, split: "val" })).rejects.toThrow(
      `${join(dir, "JPEGImages", "000003.jpg")}: "000003" in ${join(dir, "ImageSets", "Main", "val.txt")}: image file not found`,
    );
    const skipped = await loadVocDataset({ root: dir, split: "val", missingImages: "skip" });
    expect(skipped.samples).toEqual([]);
    expect(skipped.warnings.map((w) => w.message)).toEqual(["image file not found; image skipped"]);
  });
});

describe("VOC bad data", () => {
  const file = "a.xml";
  const cases: [string, string, string][] = [
    [
      "malformed XML, with line and column",
      "<annotation>\n  <size><width>3</wid></size>\n</annotation>",
      "a.xml: malformed XML at line 2, column 17: Expected closing tag 'width' (opened in line 2, col 9) instead of closing tag 'wid'.",
    ],
    ["no annotation root", "<doc></doc>", "a.xml: missing <annotation> root element"],
    ["no size", "<annotation><object/></annotation>", "a.xml: <size>: missing <size><width>"],
    [
      "zero width",
      annotation("", "<size><width>0</width><height>8</height></size>"),
      "a.xml: <size>: <width> must be a positive integer, got 0",
    ],
    ["object without name", annotation(box(1, 1, 5, 5)), "a.xml: object #1: missing <name>"],
    [
      "unknown class",
      annotation(`<name>dgo</name>${box(1, 1, 5, 5)}`),
      'a.xml: object #1 ("dgo"): unknown class "dgo" (did you mean "dog"? classes are ' + VOC_CLASS_NAMES.join(", ") + ")",
    ],
    [
      "bad difficult",
      annotation(`<name>dog</name><difficult>yes</difficult>${box(1, 1, 5, 5)}`),
      'a.xml: object #1 ("dog"): <difficult> must be 0 or 1, got "yes"',
    ],
    ["no bndbox", annotation("<name>dog</name>"), 'a.xml: object #1 ("dog"): missing <bndbox><xmin>'],
    [
      "non-numeric coordinate",
      annotation(`<name>dog</name>${box("1a", 1, 5, 5)}`),
      'a.xml: object #1 ("dog"): <xmin> must be a number, got "1a"',
    ],
    [
      "negative box",
      annotation(`<name>dog</name>${box(50, 1, 20, 5)}`),
      'a.xml: object #1 ("dog"): <bndbox> has xmax < xmin or ymax < ymin: [50, 1, 20, 5]',
    ],
  ];
  it.each(cases)("%s", (_, xml, message) => {
    const error = errorOf(() => parseVocAnnotation(xml, file, VOC_CLASS_NAMES));
    expect(error.message).toBe(message);
    expect(error.file).toBe(file);
  });

  it("warns and skips a box far outside the image, clips a 1 px overshoot, keeps a one-pixel box", () => {
    const xml = `<annotation><size><width>100</width><height>80</height></size>
      <object><name>cat</name>${box(0, 1, 101, 80)}</object>
      <object><name>dog</name>${box(90, 1, 120, 10)}</object>
      <object><name>cow</name>${box(7, 7, 7, 7)}</object>
    </annotation>`;
    const parsed = parseVocAnnotation(xml, file, VOC_CLASS_NAMES);
    expect(parsed.boxes).toEqual([
      [0, 0, 100, 80],
      [6, 6, 7, 7],
    ]);
    expect(parsed.labels).toEqual([8, 10]);
    expect(parsed.warnings).toEqual([
      { file, record: 'object #2 ("dog")', message: "box [89, 0, 120, 10] reaches 20 px outside the 100×80 image (more than 1 px); box skipped" },
    ]);
  });
});
