/** torchvision.ops.boxes against torchvision's numbers. */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { batchedNms, boxArea, boxIou, clipBoxesToImage, isLargeEnough, nms } from "../../src/detection/boxes.js";
import { BACKENDS, expectClose, golden, useBackend } from "./support.js";

interface NmsCase {
  boxes: number[][];
  scores: number[];
  idxs: number[];
  iouThreshold: number;
  nms: number[];
  batchedNms: number[];
}

interface BoxesGolden {
  boxes1: number[][];
  boxes2: number[][];
  area1: number[];
  iou: number[][];
  clip: { boxes: number[][]; size: [number, number]; clipped: number[][] };
  removeSmall: { boxes: number[][]; minSize: number; keep: number[] };
  nms: NmsCase[];
}

const expected = golden<BoxesGolden>("boxes");

describe.each(BACKENDS)("boxes on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("box_area", () => {
    expectClose(boxArea(tf.tensor2d(expected.boxes1)).dataSync(), expected.area1, 1e-4);
  });

  it("box_iou, including identical and disjoint boxes", () => {
    const iou = boxIou(tf.tensor2d(expected.boxes1), tf.tensor2d(expected.boxes2));
    expect(iou.shape).toEqual([expected.boxes1.length, expected.boxes2.length]);
    expectClose(iou.dataSync(), expected.iou.flat(), 1e-6);
  });

  it("clip_boxes_to_image", () => {
    const { boxes, size, clipped } = expected.clip;
    expect(clipBoxesToImage(tf.tensor2d(boxes), size).arraySync()).toEqual(clipped);
  });

  it("clip_boxes_to_image keeps leading dimensions", () => {
    const boxes = tf.tensor3d([[[-1, -1, 50, 50], [1, 2, 3, 4]]]);
    expect(clipBoxesToImage(boxes, [10, 20]).arraySync()).toEqual([[[0, 0, 20, 10], [1, 2, 3, 4]]]);
  });

  it("remove_small_boxes keeps the boxes isLargeEnough marks", () => {
    const { boxes, minSize, keep } = expected.removeSmall;
    const mask = isLargeEnough(tf.tensor2d(boxes), minSize).arraySync();
    expect(mask.flatMap((large, index) => (large ? [index] : []))).toEqual(keep);
  });

  const nmsCases = expected.nms.map((c, i) => [i, c] as const);
  it.each(nmsCases)("nms and batched_nms keep torchvision's indices (case %i)", (_, c) => {
    const boxes = tf.tensor2d(c.boxes);
    const scores = tf.tensor1d(c.scores);
    expect(Array.from((nms(boxes, scores, c.iouThreshold)).dataSync())).toEqual(c.nms);
    const kept = batchedNms(boxes, scores, tf.tensor1d(c.idxs, "int32"), c.iouThreshold);
    expect(kept.dtype).toBe("int32");
    expect(Array.from(kept.dataSync())).toEqual(c.batchedNms);
  });

  it("a pair exactly at the IoU threshold survives, as torchvision's `>` rule says", () => {
    const tie = expected.nms[expected.nms.length - 1]!;
    expect(tie.batchedNms).toContain(1);
  });

  it("an IoU threshold of 1 suppresses nothing, and no boxes give no indices", () => {
    const boxes = tf.tensor2d([[0, 0, 1, 1], [0, 0, 1, 1]]);
    expect(Array.from((nms(boxes, tf.tensor1d([0.2, 0.9]), 1)).dataSync())).toEqual([1, 0]);
    const none = batchedNms(tf.tensor2d([], [0, 4]), tf.tensor1d([]), tf.tensor1d([], "int32"), 0.5);
    expect(none.shape).toEqual([0]);
  });

  it("keeps at most maxOutputSize boxes, none scored at or below scoreThreshold", () => {
    const boxes = tf.tensor2d([[0, 0, 1, 1], [2, 2, 3, 3], [4, 4, 5, 5], [6, 6, 7, 7]]);
    const scores = tf.tensor1d([0.9, -1, 0.5, 0.7]);
    expect(Array.from(nms(boxes, scores, 0.5, 2, -1).dataSync())).toEqual([0, 3]);
    expect(Array.from(nms(boxes, scores, 0.5, 10, -1).dataSync())).toEqual([0, 3, 2]);
    expect(Array.from(nms(boxes, scores, 1, 10, -1).dataSync())).toEqual([0, 3, 2]);
  });
});
