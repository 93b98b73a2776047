/** Skipped records are summed up per file and consequence, with the first few named. */
import { expect, it } from "vitest";
import { summarizeWarnings } from "../../src/data/dataset.js";

it("groups warnings per file and consequence, with counts and the first three records", () => {
  const box = (i: number) => ({ file: "a.json", record: `annotations[${i}]`, message: `box [0, 0, 0, 0] has zero area; box skipped` });
  const image = { file: "a.json", record: "images[2]", message: "image file not found; image skipped" };
  expect(summarizeWarnings([box(1), box(2), image, box(3), box(4)])).toEqual([
    "a.json: 4 boxes skipped\n  annotations[1]: box [0, 0, 0, 0] has zero area\n  annotations[2]: box [0, 0, 0, 0] has zero area\n  annotations[3]: box [0, 0, 0, 0] has zero area\n  … and 1 more",
    "a.json: 1 image skipped\n  images[2]: image file not found",
  ]);
});
