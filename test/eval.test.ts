/** The COCO and VOC evaluators against pycocotools and voc_eval (goldens from fixtures/eval/make_eval_goldens.py). */
import { readdirSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  type CocoDetection,
  type CocoGroundTruth,
  type CocoStats,
  EvaluationInputError,
  evaluateCoco,
} from "../src/eval/coco-eval.js";
import { type VocAnnotation, type VocGroundTruth, type VocResult, evaluateVoc } from "../src/eval/voc-ap.js";

interface EvalGolden {
  description: string;
  groundTruth: VocGroundTruth;
  detections: CocoDetection[];
  coco: CocoStats;
  voc: VocResult;
}

const FIXTURES = new URL("./fixtures/eval/", import.meta.url);
const goldens = readdirSync(FIXTURES)
  .filter((file) => file.endsWith(".json"))
  .map((file) => {
    const golden = JSON.parse(readFileSync(new URL(file, FIXTURES), "utf8")) as EvalGolden;
    return [file.replace(/\.json$/, ""), golden] as const;
  });

/** Within 1e-6, except that pycocotools' -1 sentinel ("no ground truth here") must be exact. */
function expectMetric(actual: number, expected: number, label: string) {
  if (expected === -1) expect(actual, label).toBe(-1);
  else expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-6);
}

it("has the golden sets", () => {
  expect(goldens.map(([name]) => name).sort()).toEqual(
    ["basic", "dense", "empty_ground_truth", "mixed", "no_detections", "ties"],
  );
});

describe.each(goldens)("%s", (_, golden) => {
  it("matches pycocotools' 12 stats", () => {
    const stats = evaluateCoco(golden.groundTruth, golden.detections);
    expect(Object.keys(stats).sort()).toEqual(Object.keys(golden.coco).sort());
    for (const [name, expected] of Object.entries(golden.coco)) {
      expectMetric(stats[name as keyof CocoStats], expected, name);
    }
  });

  it("matches pycocotools' 12 stats to the bit (np.mean's summation order included)", () => {
    expect(evaluateCoco(golden.groundTruth, golden.detections)).toEqual(golden.coco);
  });

  it("matches voc_eval's AP per category and mean", () => {
    const result = evaluateVoc(golden.groundTruth, golden.detections);
    expect(result.perCategory.map((c) => c.categoryId)).toEqual(golden.voc.perCategory.map((c) => c.categoryId));
    result.perCategory.forEach((category, i) => {
      expectMetric(category.ap, golden.voc.perCategory[i]!.ap, `category ${category.categoryId}`);
    });
    expectMetric(result.mAP, golden.voc.mAP, "mAP");
  });

  it("does not depend on the order of images and categories in the ground truth", () => {
    const reversed = {
      ...golden.groundTruth,
      images: [...golden.groundTruth.images].reverse(),
      categories: [...golden.groundTruth.categories].reverse(),
    };
    expect(evaluateCoco(reversed, golden.detections)).toEqual(evaluateCoco(golden.groundTruth, golden.detections));
  });
});

const groundTruth = (): CocoGroundTruth => ({
  images: [{ id: 1 }, { id: 2 }],
  categories: [{ id: 1, name: "cat" }, { id: 2, name: "dog" }],
  annotations: [
    { id: 1, image_id: 1, category_id: 1, bbox: [10, 10, 40, 40], area: 1600, iscrowd: 0 },
    { id: 2, image_id: 2, category_id: 2, bbox: [100, 100, 120, 80], area: 9600, iscrowd: 0 },
  ],
});
const detection = (overrides: Partial<CocoDetection> = {}): CocoDetection => ({
  image_id: 1,
  category_id: 1,
  bbox: [10, 10, 40, 40],
  score: 0.9,
  ...overrides,
});
const ALL_MINUS_ONE = {
  AP: -1, AP50: -1, AP75: -1, APs: -1, APm: -1, APl: -1, AR1: -1, AR10: -1, AR100: -1, ARs: -1, ARm: -1, ARl: -1,
};

describe("edge cases", () => {
  it("scores no detections at all as 0 where there is ground truth and -1 where there is none", () => {
    expect(evaluateCoco(groundTruth(), [])).toEqual({
      AP: 0, AP50: 0, AP75: 0, APs: -1, APm: 0, APl: 0, AR1: 0, AR10: 0, AR100: 0, ARs: -1, ARm: 0, ARl: 0,
    });
    expect(evaluateVoc(groundTruth(), [])).toEqual({
      mAP: 0,
      perCategory: [{ categoryId: 1, ap: 0 }, { categoryId: 2, ap: 0 }],
    });
  });

  it("gives -1 everywhere for empty ground truth", () => {
    const empty = { images: [{ id: 1 }], categories: [{ id: 1 }], annotations: [] };
    expect(evaluateCoco(empty, [detection()])).toEqual(ALL_MINUS_ONE);
    expect(evaluateCoco({ images: [], categories: [], annotations: [] }, [])).toEqual(ALL_MINUS_ONE);
    expect(evaluateVoc(empty, [detection()])).toEqual({ mAP: -1, perCategory: [{ categoryId: 1, ap: -1 }] });
  });

  it("gives 1 everywhere for perfect detections", () => {
    const perfect = groundTruth().annotations.map((a) =>
      detection({ image_id: a.image_id, category_id: a.category_id, bbox: a.bbox }),
    );
    const stats = evaluateCoco(groundTruth(), perfect);
    // Precision is tp / (tp + fp + eps), so pycocotools' perfect AP is 1 − 1e-16, not 1.
    for (const [name, value] of Object.entries(stats)) {
      expectMetric(value, name === "APs" || name === "ARs" ? -1 : 1, name); // no small objects
    }
    expect(evaluateVoc(groundTruth(), perfect).mAP).toBe(1);
  });

  it("ignores a difficult object in VOC whether or not it is found", () => {
    const gt: VocGroundTruth = {
      ...groundTruth(),
      annotations: [
        ...groundTruth().annotations,
        { id: 3, image_id: 1, category_id: 1, bbox: [200, 200, 30, 30], area: 900, iscrowd: 0, difficult: true },
      ],
    };
    const hits = [detection(), detection({ image_id: 2, category_id: 2, bbox: [100, 100, 120, 80] })];
    expect(evaluateVoc(gt, hits).mAP).toBe(1);
    expect(evaluateVoc(gt, [...hits, detection({ bbox: [200, 200, 30, 30], score: 0.95 })]).mAP).toBe(1);
  });
});

describe("malformed input", () => {
  const withAnnotation = (patch: object): VocGroundTruth => {
    const gt = groundTruth();
    return { ...gt, annotations: [gt.annotations[0]!, { ...gt.annotations[1]!, ...patch } as VocAnnotation] };
  };
  const thrown = (evaluate: () => unknown): unknown => {
    try {
      evaluate();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  const cases: [string, VocGroundTruth, CocoDetection[], string][] = [
    ["a detection on an unknown image", groundTruth(), [detection(), detection({ image_id: 42 })],
      "detections[1]: image_id 42 is not in the ground truth's images"],
    ["a detection of an unknown category", groundTruth(), [detection({ category_id: 9 })],
      "detections[0]: category_id 9 is not in the ground truth's categories"],
    ["a NaN score", groundTruth(), [detection({ score: NaN })],
      "detections[0]: score must be a finite number, got NaN"],
    ["an infinite coordinate", groundTruth(), [detection({ bbox: [Infinity, 0, 1, 1] })],
      "detections[0]: bbox x must be a finite number, got Infinity"],
    ["a negative width", groundTruth(), [detection({ bbox: [0, 0, -3, 1] })],
      "detections[0]: bbox width must be a finite number ≥ 0, got -3"],
    ["a box of three numbers", groundTruth(), [detection({ bbox: [0, 0, 1] as never })],
      "detections[0]: bbox must be [x, y, width, height], got [0,0,1]"],
    ["a detection that is not an object", groundTruth(), [null as never], "detections[0]: must be an object, got null"],
    ["an annotation on an unknown image", withAnnotation({ image_id: 7 }), [],
      "annotations[1] (id 2): image_id 7 is not in the ground truth's images"],
    ["a negative annotation height", withAnnotation({ bbox: [0, 0, 5, -1] }), [],
      "annotations[1] (id 2): bbox height must be a finite number ≥ 0, got -1"],
    ["a missing area", withAnnotation({ area: undefined }), [],
      "annotations[1] (id 2): area must be a finite number ≥ 0, got undefined"],
    ["an iscrowd of 2", withAnnotation({ iscrowd: 2 }), [], "annotations[1] (id 2): iscrowd must be 0 or 1, got 2"],
    ["a duplicate annotation id", withAnnotation({ id: 1 }), [],
      "annotations[1]: id 1 is already used by annotations[0]"],
    ["a non-integer image id", { ...groundTruth(), images: [{ id: 1 }, { id: 2.5 }] }, [],
      "images[1]: id must be an integer, got 2.5"],
    ["missing categories", { ...groundTruth(), categories: undefined as never }, [],
      "categories: must be an array, got undefined"],
  ];

  it.each(cases)("rejects %s, naming the record", (_, gt, detections, message) => {
    for (const evaluate of [evaluateCoco, evaluateVoc]) {
      const error = thrown(() => evaluate(gt, detections));
      expect(error).toBeInstanceOf(EvaluationInputError);
      expect((error as EvaluationInputError).message).toBe(message);
      expect((error as EvaluationInputError).name).toBe("EvaluationInputError");
    }
  });

  it("rejects a VOC difficult flag that is not a boolean", () => {
    const error = thrown(() => evaluateVoc(withAnnotation({ difficult: "yes" }), []));
    expect(error).toBeInstanceOf(EvaluationInputError);
    expect((error as EvaluationInputError).record).toBe("annotations[1] (id 2)");
    expect((error as EvaluationInputError).message).toBe(
      'annotations[1] (id 2): difficult must be 0, 1, true or false, got "yes"',
    );
  });
});
