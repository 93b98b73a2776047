import { describe, expect, it } from "vitest";
import {
  DatasetError,
  type DetectionDataset,
  type DetectionSample,
  fitBoxToImage,
  toCocoGroundTruth,
  trainingSubset,
} from "../../src/data/dataset.js";
import { forEachJsonArrayElement, parseJsonFile } from "../../src/data/json.js";

const sample = (id: number, fields: Partial<DetectionSample> = {}): DetectionSample => ({
  id,
  name: `image-${id}.jpg`,
  width: 100,
  height: 50,
  boxes: [],
  labels: [],
  iscrowd: [],
  difficult: [],
  areas: [],
  loadImage: () => Promise.reject(new Error("not needed")),
  ...fields,
});

const dataset: DetectionDataset = {
  kind: "coco",
  split: "val",
  classNames: ["cat", "dog"],
  warnings: [],
  samples: [
    sample(7, {
      boxes: [
        [10, 5, 30, 25],
        [0, 0, 100, 50],
      ],
      labels: [2, 1],
      iscrowd: [false, true],
      difficult: [false, false],
      areas: [321, 5000],
    }),
    sample(8),
    sample(9, { boxes: [[1, 2, 4, 6]], labels: [1], iscrowd: [false], difficult: [true], areas: [12] }),
  ],
};

describe("toCocoGroundTruth", () => {
  it("lists every image, each box as xywh with its area and flags, and labels as category ids", () => {
    expect(toCocoGroundTruth(dataset)).toEqual({
      images: [
        { id: 7, file_name: "image-7.jpg", width: 100, height: 50 },
        { id: 8, file_name: "image-8.jpg", width: 100, height: 50 },
        { id: 9, file_name: "image-9.jpg", width: 100, height: 50 },
      ],
      annotations: [
        { id: 1, image_id: 7, category_id: 2, bbox: [10, 5, 20, 20], area: 321, iscrowd: 0, difficult: 0 },
        { id: 2, image_id: 7, category_id: 1, bbox: [0, 0, 100, 50], area: 5000, iscrowd: 1, difficult: 0 },
        { id: 3, image_id: 9, category_id: 1, bbox: [1, 2, 3, 4], area: 12, iscrowd: 0, difficult: 1 },
      ],
      categories: [
        { id: 1, name: "cat" },
        { id: 2, name: "dog" },
      ],
    });
  });
});

describe("trainingSubset", () => {
  it("keeps only images with a non-crowd box", () => {
    const crowdOnly = sample(10, { boxes: [[0, 0, 5, 5]], labels: [1], iscrowd: [true], difficult: [false], areas: [25] });
    const subset = trainingSubset({ ...dataset, samples: [...dataset.samples, crowdOnly] });
    expect(subset.samples.map((s) => s.id)).toEqual([7, 9]);
    expect(subset.classNames).toBe(dataset.classNames);
  });
});

describe("fitBoxToImage", () => {
  it("clips overshoots up to 1 px and explains anything else", () => {
    expect(fitBoxToImage([-1, -0.2, 101, 50.5], 100, 50)).toEqual({ box: [0, 0, 100, 50] });
    expect(fitBoxToImage([10, 10, 20, 20], 100, 50)).toEqual({ box: [10, 10, 20, 20] });
    expect(fitBoxToImage([10, 10, 10, 20], 100, 50)).toEqual({ problem: "box [10, 10, 10, 20] has zero area" });
    expect(fitBoxToImage([90, 10, 101.5, 20], 100, 50)).toEqual({
      problem: "box [90, 10, 101.5, 20] reaches 1.5 px outside the 100×50 image (more than 1 px)",
    });
    expect(fitBoxToImage([-1, 10, 0, 20], 100, 50)).toEqual({ problem: "box [-1, 10, 0, 20] has zero area inside the 100×50 image" });
  });
});

describe("parseJsonFile", () => {
  const positionOf = (text: string): string => {
    try {
      parseJsonFile(text, "x.json");
    } catch (error) {
      expect(error).toBeInstanceOf(DatasetError);
      return (error as DatasetError).message.match(/^x\.json: malformed JSON at (line \d+, column \d+): \S/)?.[1] ?? (error as Error).message;
    }
    throw new Error("expected an error");
  };
  it.each([
    ['{"a": 1,}', "line 1, column 9"],
    ['{"a": 1\n  "b": 2}', "line 2, column 3"],
    ['[1, 2, 3', "line 1, column 9"],
    ['{"a": "unterminated', "line 1, column 20"],
    ['{"a": "bad \\x escape"}', "line 1, column 12"],
    ['{"a": 01}', "line 1, column 7"],
    ['{"a": tru}', "line 1, column 7"],
    ['{"a": 1} trailing', "line 1, column 10"],
    ["{'a': 1}", "line 1, column 2"],
    ["\n\n  {\n", "line 4, column 1"],
  ])("locates the fault in %j at %s", (text, position) => {
    expect(positionOf(text)).toBe(position);
  });

  it("parses valid JSON", () => {
    expect(parseJsonFile('{"a": [1, -2.5e3, true, null, "\\u00e9"]}', "x.json")).toEqual({ a: [1, -2500, true, null, "é"] });
  });
});

describe("forEachJsonArrayElement", () => {
  const elements = (text: string): unknown[] => {
    const seen: unknown[] = [];
    forEachJsonArrayElement(text, "x.json", (element, index) => seen.push([index, element]));
    return seen;
  };
  const failure = (text: string): string => {
    try {
      elements(text);
    } catch (error) {
      expect(error).toBeInstanceOf(DatasetError);
      return (error as Error).message;
    }
    throw new Error("expected an error");
  };

  it("hands over each element of an array, in order, as JSON.parse reads it", () => {
    const text = ' [1, "a]b\\"}", {"x": [2, {"y": "}"}]}, null,\n[[]], -2.5e3 ] ';
    expect(elements(text)).toEqual((JSON.parse(text) as unknown[]).map((element, index) => [index, element]));
    expect(elements("[]")).toEqual([]);
  });

  it.each(["[1,]", "[", "[1 2]", '[{"a":}]', '[1,\n2,\n{"a": 1,}]', "[] []", '[{"a":1}]x', ""])(
    "fails on %j exactly as parseJsonFile does",
    (text) => {
      expect(failure(text)).toBe((() => {
        try {
          parseJsonFile(text, "x.json");
        } catch (error) {
          return (error as Error).message;
        }
        return "parsed";
      })());
    },
  );

  it("says what the text is when it is not an array", () => {
    expect(failure('{"a": 1}')).toBe("x.json: must be a JSON array, got an object");
    expect(failure("null")).toBe("x.json: must be a JSON array, got null");
  });
});
