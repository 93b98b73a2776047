/**
 * `detc check --data` counts what training's RPN Matcher does: compared with torchvision's own
 * AnchorGenerator, box_iou, Matcher(0.7, 0.3, allow_low_quality_matches=True) and RoI LevelMapper
 * on hand-made boxes (fixtures/anchors/make_anchor_goldens.py).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { analyzeAnchorData } from "../../src/anchors/analyze.js";
import { matchImage } from "../../src/anchors/match.js";
import { checkSource } from "../../src/check/index.js";
import type { Box } from "../../src/data/dataset.js";
import { resizeBoxes } from "../../src/data/transforms.js";
import { AnchorGenerator } from "../../src/detection/anchor-utils.js";
import { GeneralizedRCNNTransform } from "../../src/detection/transform.js";

interface GoldenImage {
  width: number;
  height: number;
  boxes: Box[];
  resized: number[];
  padded: [number, number];
  grids: [number, number][];
  bestIou: number[];
  bestLevel: number[];
  positives: number[][];
  roiLevel: number[];
}

interface GoldenDetector {
  name: string;
  spec: string;
  sizes: number[][];
  ratios: number[];
  images: GoldenImage[];
}

const golden = JSON.parse(readFileSync(new URL("../fixtures/anchors/matcher.json", import.meta.url), "utf8")) as { detectors: GoldenDetector[] };

describe.each(golden.detectors)("anchors against torchvision: $name", (detector) => {
  const analysis = checkSource(detector.spec).analyses[0]!;

  it("resizes boxes as GeneralizedRCNNTransform does", () => {
    const transform = new GeneralizedRCNNTransform({ kind: "resize", min: analysis.input.min!, max: analysis.input.max! });
    for (const image of detector.images) {
      const size = transform.resizedSize(image);
      expect(Array.from(Float32Array.from(resizeBoxes(image.boxes, image, size).flat()))).toEqual(image.resized);
    }
  });

  it("finds each box's best anchor and the anchors the Matcher gives it, per level", () => {
    const generator = new AnchorGenerator(detector.sizes, detector.ratios);
    for (const image of detector.images) {
      const grids = image.grids.map(([gridHeight, gridWidth], level) => ({
        cell: generator.cellAnchors[level]!,
        gridHeight,
        gridWidth,
        strideHeight: Math.floor(image.padded[0] / gridHeight),
        strideWidth: Math.floor(image.padded[1] / gridWidth),
      }));
      const match = matchImage(Float32Array.from(image.resized), grids, { high: 0.7 });
      expect(Array.from(match.bestIou)).toEqual(Array.from(Float32Array.from(image.bestIou)));
      expect(Array.from(match.bestLevel)).toEqual(image.bestLevel);
      const levels = grids.length;
      expect(image.positives.map((_, box) => Array.from(match.positives.slice(box * levels, (box + 1) * levels)))).toEqual(image.positives);
    }
  });

  it("counts recall, low-quality matches, unmatched boxes and RoI levels over the data", () => {
    const report = analyzeAnchorData(analysis, detector.images, { source: "fixture" });
    const best = Array.from(Float32Array.from(detector.images.flatMap((image) => image.bestIou)));
    const positives = detector.images.flatMap((image) => image.positives);
    const total = (box: number) => positives[box]!.reduce((a, b) => a + b, 0);
    expect(report.boxes).toBe(best.length);
    expect(report.anchors.recall).toEqual([0.7, 0.5, 0.3].map((iou) => ({ iou, boxes: best.filter((b) => b >= iou).length })));
    expect(report.unmatched).toBe(best.filter((_, box) => total(box) === 0).length);
    expect(report.lowQualityOnly).toBe(best.filter((b, box) => b < 0.7 && total(box) > 0).length);
    const perLevel = (count: (level: number) => number) => report.levels.map((_, level) => count(level));
    const bestLevels = detector.images.flatMap((image) => image.bestLevel);
    const roiLevels = detector.images.flatMap((image) => image.roiLevel);
    expect(report.levels.map((l) => l.bestBoxes)).toEqual(perLevel((level) => bestLevels.filter((l) => l === level).length));
    expect(report.levels.map((l) => l.positiveAnchors)).toEqual(perLevel((level) => positives.reduce((n, p) => n + p[level]!, 0)));
    expect(report.levels.map((l) => l.roiBoxes)).toEqual(perLevel((level) => roiLevels.filter((l) => l === level).length));
    // The hand-made set exercises every rule: boxes below 0.7 rescued by the low-quality rule, and
    // a twin whose anchors all go to its neighbour.
    expect(report.lowQualityOnly).toBeGreaterThan(0);
    expect(report.unmatched).toBeGreaterThan(0);
  });
});
