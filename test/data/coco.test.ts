import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadCocoDataset, parseCocoInstances } from "../../src/data/coco.js";
import { DatasetError } from "../../src/data/dataset.js";

const fixtures = join(import.meta.dirname, "..", "fixtures", "data", "coco");
const annotationFile = join(fixtures, "instances.json");
const imageDir = join(fixtures, "images");

/** A valid one-image file with `change` applied, as text. */
function instances(change: (data: { images: unknown[]; annotations: unknown[]; categories: unknown[] }) => void = () => {}): string {
  const data = {
    images: [{ id: 1, file_name: "a.png", width: 100, height: 80 }] as unknown[],
    categories: [{ id: 5, name: "thing" }] as unknown[],
    annotations: [{ id: 9, image_id: 1, category_id: 5, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }] as unknown[],
  };
  change(data);
  return JSON.stringify(data, null, 2);
}

function errorOf(run: () => unknown): DatasetError {
  try {
    run();
  } catch (error) {
    if (error instanceof DatasetError) return error;
    throw error;
  }
  throw new Error("expected a DatasetError");
}

describe("COCO loading", () => {
  it("maps category ids to labels 1..K in id order and converts boxes to xyxy", async () => {
    const dataset = await loadCocoDataset({ annotationFile, imageDir, split: "val" });
    expect(dataset.kind).toBe("coco");
    expect(dataset.split).toBe("val");
    expect(dataset.classNames).toEqual(["cat", "dog", "bird"]);
    expect(dataset.categoryIds).toEqual([1, 3, 7]);
    const [red, green, blue] = dataset.samples;
    if (!red || !green) throw new Error(`expected three samples, got ${dataset.samples.length}`);
    expect(red).toMatchObject({ id: 11, name: "red.png", width: 32, height: 24 });
    expect(red.boxes).toEqual([
      [2, 3, 12, 11],
      [20, 10, 32, 24], // reached 0.5 px past the right and bottom edges: clipped silently
    ]);
    expect(red.labels).toEqual([1, 3]);
    expect(red.areas).toEqual([50, 12 * 14]); // the file's area when given, else the clipped box's
    expect(green.boxes).toEqual([
      [0, 0, 40, 30],
      [5, 5, 15, 15],
    ]);
    expect(green.labels).toEqual([2, 2]);
    expect(green.iscrowd).toEqual([true, false]);
    expect(green.difficult).toEqual([false, false]);
    // An image without annotations stays: evaluation counts its false positives.
    expect(blue).toMatchObject({ id: 13, boxes: [], labels: [] });
  });

  it("returns skipped boxes as warnings naming file and record", async () => {
    const { warnings } = await loadCocoDataset({ annotationFile, imageDir, split: "val" });
    expect(warnings).toEqual([
      {
        file: annotationFile,
        record: "annotations[4] (id 105)",
        message: "box [35, 20, 50, 25] reaches 10 px outside the 40×30 image (more than 1 px); box skipped",
      },
      { file: annotationFile, record: "annotations[5] (id 106)", message: "box [5, 5, 5, 9] has zero area; box skipped" },
    ]);
  });

  it("decodes the images, PNG and JPEG", async () => {
    const { samples } = await loadCocoDataset({ annotationFile, imageDir, split: "val" });
    const red = await samples[0]!.loadImage();
    expect([red.width, red.height]).toEqual([32, 24]);
    expect([...red.data.subarray(0, 3)]).toEqual([200, 30, 40]);
    const green = await samples[1]!.loadImage();
    expect([green.width, green.height, green.data.length]).toEqual([40, 30, 40 * 30 * 3]);
    [20, 180, 60].forEach((value, c) => expect(Math.abs(green.data[c]! - value)).toBeLessThanOrEqual(3));
  });

  it("stops on a missing image file, naming it, unless told to skip", async () => {
    const dir = await mkdtemp(join(tmpdir(), "detc-coco-"));
    const file = join(dir, "instances.json");
    const data = JSON.parse(await readFile(annotationFile, "utf8"));
    data.images.push({ id: 14, file_name: "gone.png", width: 8, height: 8 });
    await writeFile(file, JSON.stringify(data));
    await expect(loadCocoDataset({ annotationFile: file, imageDir, split: "val" })).rejects.toThrow(
      `${join(imageDir, "gone.png")}: images[3] (id 14): image file not found; check the image folder, or set missingImages: "skip" to leave missing images out`,
    );
    const skipped = await loadCocoDataset({ annotationFile: file, imageDir, split: "val", missingImages: "skip" });
    expect(skipped.samples.map((s) => s.id)).toEqual([11, 12, 13]);
    expect(skipped.warnings.at(-1)).toEqual({
      file: join(imageDir, "gone.png"),
      record: "images[3] (id 14)",
      message: "image file not found; image skipped",
    });
  });

  it("counts the missing images when several are", async () => {
    const error = await loadCocoDataset({ annotationFile, imageDir: join(fixtures, "nowhere"), split: "val" }).catch((e) => e);
    expect(error).toBeInstanceOf(DatasetError);
    expect(error.message).toContain("3 of 3 images are missing, also ");
    expect(error.file).toBe(join(fixtures, "nowhere", "red.png"));
  });

  it("reports a missing annotation file", async () => {
    await expect(loadCocoDataset({ annotationFile: join(fixtures, "nope.json"), imageDir, split: "val" })).rejects.toThrow(
      `${join(fixtures, "nope.json")}: annotation file not found`,
    );
  });

  it("reports an image whose size disagrees with its record", async () => {
    const dir = await mkdtemp(join(tmpdir(), "detc-coco-"));
    const file = join(dir, "instances.json");
    await writeFile(file, instances((d) => (d.images = [{ id: 1, file_name: "red.png", width: 100, height: 80 }])));
    const { samples } = await loadCocoDataset({ annotationFile: file, imageDir, split: "val" });
    await expect(samples[0]!.loadImage()).rejects.toThrow(
      `${join(imageDir, "red.png")}: image is 32×24 but its annotation says 100×80`,
    );
  });
});

describe("COCO bad data", () => {
  const cases: [string, string, string | RegExp][] = [
    // V8's wording after the position varies by Node version: only the position is pinned.
    [
      "malformed JSON, with line and column",
      '{\n  "images": [\n    { "id": 1, }\n  ]\n}',
      /^f\.json: malformed JSON at line 3, column 16: \S/,
    ],
    ["truncated JSON", '{"images": [', /^f\.json: malformed JSON at line 1, column 13: \S/],
    ["not an object", "[]", "f.json: must hold a JSON object with images, annotations and categories"],
    [
      "no annotations",
      instances((d) => delete (d as Partial<typeof d>).annotations),
      'f.json: missing "annotations" array (an image-info file without annotations cannot be trained or scored on)',
    ],
    ["no categories", instances((d) => (d.categories = [])), 'f.json: "categories" is empty'],
    [
      "image without file_name",
      instances((d) => (d.images = [{ id: 1, width: 100, height: 80 }])),
      'f.json: images[0] (id 1): missing field "file_name"',
    ],
    [
      "image with a string width",
      instances((d) => (d.images = [{ id: 1, file_name: "a.png", width: "100", height: 80 }])),
      'f.json: images[0] (id 1): "width" must be a positive integer, got "100"',
    ],
    ["image that is not an object", instances((d) => (d.images = [7])), "f.json: images[0]: must be an object, got 7"],
    [
      "duplicate image id",
      instances((d) => d.images.push({ id: 1, file_name: "b.png", width: 1, height: 1 })),
      "f.json: images[1] (id 1): duplicate image id 1",
    ],
    [
      "duplicate category id",
      instances((d) => d.categories.push({ id: 5, name: "other" })),
      "f.json: categories[1] (id 5): duplicate category id 5",
    ],
    [
      "duplicate category name",
      instances((d) => d.categories.push({ id: 6, name: "thing" })),
      'f.json: categories[1] (id 6): duplicate category name "thing"',
    ],
    [
      "category without name",
      instances((d) => (d.categories = [{ id: 5 }])),
      'f.json: categories[0] (id 5): missing field "name"',
    ],
    [
      "annotation without bbox",
      instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 5 }])),
      'f.json: annotations[0] (id 9): missing field "bbox"',
    ],
    [
      "bbox of 3 numbers",
      instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 5, bbox: [1, 2, 3] }])),
      'f.json: annotations[0] (id 9): "bbox" must be an array of 4 numbers, got [1,2,3]',
    ],
    [
      "unknown category id",
      instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 4, bbox: [1, 2, 3, 4] }])),
      "f.json: annotations[0] (id 9): unknown category_id 4 (the categories' ids are 5)",
    ],
    [
      "unknown image id",
      instances((d) => (d.annotations = [{ id: 9, image_id: 2, category_id: 5, bbox: [1, 2, 3, 4] }])),
      'f.json: annotations[0] (id 9): image_id 2 is not in "images"',
    ],
    [
      "negative box",
      instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 5, bbox: [50, 40, -20, 10] }])),
      "f.json: annotations[0] (id 9): bbox [50, 40, -20, 10] has a negative width or height; COCO boxes are [x, y, width, height] — was it written as [x1, y1, x2, y2]?",
    ],
    [
      "bad iscrowd",
      instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], iscrowd: 2 }])),
      'f.json: annotations[0] (id 9): "iscrowd" must be 0 or 1, got 2',
    ],
    [
      "negative area",
      instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 5, bbox: [1, 2, 3, 4], area: -1 }])),
      'f.json: annotations[0] (id 9): "area" must be a number ≥ 0, got -1',
    ],
  ];
  it.each(cases)("%s", (_, text, message) => {
    const error = errorOf(() => parseCocoInstances(text, "f.json"));
    if (typeof message === "string") expect(error.message).toBe(message);
    else expect(error.message).toMatch(message);
    expect(error.file).toBe("f.json");
  });

  it("names the record in the error's fields", () => {
    const error = errorOf(() => parseCocoInstances(instances((d) => (d.annotations = [{ id: 9, image_id: 1, category_id: 4, bbox: [1, 2, 3, 4] }])), "f.json"));
    expect(error.record).toBe("annotations[0] (id 9)");
  });

  it("warns and skips boxes outside the image or of zero area; clips ≤ 1 px overshoots", () => {
    const parsed = parseCocoInstances(
      instances(
        (d) =>
          (d.annotations = [
            { id: 1, image_id: 1, category_id: 5, bbox: [-1, -0.5, 101, 81] }, // 1 px over on every side: clipped
            { id: 2, image_id: 1, category_id: 5, bbox: [-2, 0, 10, 10] }, // 2 px over: skipped
            { id: 3, image_id: 1, category_id: 5, bbox: [10, 10, 5, 0] }, // zero height: skipped
            { id: 4, image_id: 1, category_id: 5, bbox: [100.5, 10, 0.5, 10] }, // only within the margin: nothing left
          ]),
      ),
      "f.json",
    );
    expect(parsed.images[0]!.boxes).toEqual([[0, 0, 100, 80]]);
    expect(parsed.warnings.map((w) => `${w.record}: ${w.message}`)).toEqual([
      "annotations[1] (id 2): box [-2, 0, 8, 10] reaches 2 px outside the 100×80 image (more than 1 px); box skipped",
      "annotations[2] (id 3): box [10, 10, 15, 10] has zero area; box skipped",
      "annotations[3] (id 4): box [100.5, 10, 101, 20] has zero area inside the 100×80 image; box skipped",
    ]);
  });
});
