/**
 * `detc check --data`'s rules and fitted anchors: on data built to defeat the default anchors (many
 * small and elongated objects) the rules fire, and the fitted `anchors` line, pasted into the spec
 * by the diagnostic's fix, gives more boxes an anchor at the RPN's foreground IoU.
 */
import { describe, expect, it } from "vitest";
import { analyzeAnchorData, checkDetectorData, type AnnotatedImage } from "../../src/anchors/analyze.js";
import { checkSource } from "../../src/check/index.js";
import type { Box, DetectionDataset } from "../../src/data/dataset.js";
import { seededRandom, uniform } from "../../src/util/random.js";
import { syntheticDataset } from "../../src/data/synthetic.js";

/** 40 images of 640×480 with 12 objects each: half small squares (16–28 px), half thin bars (10–16 px wide, h/w 3–6). */
function smallAndElongated(): AnnotatedImage[] {
  const random = seededRandom(7);
  return Array.from({ length: 40 }, () => {
    const boxes: Box[] = Array.from({ length: 12 }, (_, i) => {
      const [width, height] = i % 2 === 0 ? [uniform(random, 16, 28), uniform(random, 16, 28)] : ((w) => [w, w * uniform(random, 3, 6)])(uniform(random, 10, 16));
      const x = uniform(random, 0, 640 - width);
      const y = uniform(random, 0, 480 - height);
      return [x, y, x + width, y + height];
    });
    return { width: 640, height: 480, boxes };
  });
}

const SPEC = `detector defaults
backbone resnet18
tap layer2, layer3, layer4
fpn 64 extra maxpool
classes 2
input 640
`;

const apply = (source: string, fix: { span: { start: { offset: number }; end: { offset: number } }; replacement: string }) =>
  source.slice(0, fix.span.start.offset) + fix.replacement + source.slice(fix.span.end.offset);

describe("data built to defeat the default anchors", () => {
  const analysis = checkSource(SPEC).analyses[0]!;
  const images = smallAndElongated();
  const dataset: DetectionDataset = {
    kind: "synthetic",
    split: "train",
    classNames: ["object"],
    warnings: [],
    samples: images.map((image, i) => ({
      id: i + 1, name: `${i}`, ...image, labels: image.boxes.map(() => 1), iscrowd: image.boxes.map(() => false),
      difficult: image.boxes.map(() => false), areas: image.boxes.map(() => 1), loadImage: () => Promise.reject(new Error("not needed")),
    })),
  };
  const { report, diagnostics } = checkDetectorData(analysis, dataset);

  it("reports low recall, small boxes and elongated boxes on the anchors line", () => {
    expect(report.anchors.recall[0]!.boxes / report.boxes).toBeLessThan(0.2);
    expect(diagnostics.map((d) => d.code)).toEqual(expect.arrayContaining(["W090", "W091", "W092", "I093"]));
    const anchorsHome = analysis.detector.name!.span; // the spec has no anchors line: they point at the detector
    for (const d of diagnostics) expect(d.primary.span.start.line).toBe(anchorsHome.start.line);
    expect(diagnostics.find((d) => d.code === "W092")!.message).toMatch(/^\d+% of the boxes in synthetic train \(\d+\) are shaped/);
  });

  it("fits anchors that raise recall, with the spec's anchors per location, and the fix pastes them", () => {
    const suggestion = report.suggestion!;
    // No default anchor reaches 0.7 with any box; ~20-px boxes on a stride-8 grid cap what any can.
    expect(report.anchors.recall[0]!.boxes).toBe(0);
    expect(suggestion.recall[0]!.boxes / report.boxes).toBeGreaterThan(0.2);
    expect(suggestion.recall[1]!.boxes).toBeGreaterThan(1.5 * report.anchors.recall[1]!.boxes);
    expect(suggestion.sizes.length).toBe(4);
    expect(new Set(suggestion.sizes.map((group) => group.length * suggestion.ratios.length))).toEqual(new Set([3]));
    const fix = diagnostics.find((d) => d.code === "I093")!.fix!;
    expect(fix.replacement.trim()).toBe(suggestion.line);
    const fixed = checkSource(apply(SPEC, fix));
    expect(fixed.counts.error).toBe(0);
    const again = analyzeAnchorData(fixed.analyses[0]!, images, { source: "again" });
    expect(again.anchors.recall).toEqual(suggestion.recall);
    expect(again.anchors.sizes).toEqual(suggestion.sizes);
  });
});

it("the quick start's data: every box reaches 0.3, and the fitted line beats the spec's at 0.7", () => {
  const source = `detector quickstart
backbone resnet18
tap layer2
anchors sizes (16, 32, 64) ratios 0.5, 1.0, 2.0
classes 5
input 128
`;
  const analysis = checkSource(source).analyses[0]!;
  const { report, diagnostics } = checkDetectorData(analysis, syntheticDataset("train", { imageSize: 128, trainCount: 64 }));
  expect(report.anchors.recall.at(-1)!.boxes).toBe(report.boxes);
  expect(report.suggestion!.recall[0]!.boxes).toBeGreaterThan(report.anchors.recall[0]!.boxes);
  // 98% of its boxes reach IoU 0.5: no W090, only the fitted line, on the anchors line.
  expect(diagnostics.map((d) => d.code)).toEqual(["I093"]);
  const fix = diagnostics.find((d) => d.code === "I093")!.fix!;
  expect(source.slice(fix.span.start.offset, fix.span.end.offset)).toBe("anchors sizes (16, 32, 64) ratios 0.5, 1.0, 2.0");
});

it("the size plot draws the boxes as a histogram, each level's anchor sizes, and the fitted ones dashed", async () => {
  const { anchorSizesSvg } = await import("../../src/diagram/anchor-sizes.js");
  const analysis = checkSource("detector p\nbackbone resnet18\ntap layer2, layer3\nfpn 64 extra maxpool\nclasses 5\ninput 128\n").analyses[0]!;
  const report = analyzeAnchorData(analysis, syntheticDataset("train", { imageSize: 128, trainCount: 48 }).samples, { source: "synthetic train" });
  const svg = anchorSizesSvg(report, "p");
  const bins = [...svg.matchAll(/class="bin" [^>]*height="([\d.]+)"/g)];
  expect(bins.length).toBeGreaterThan(3);
  expect([...svg.matchAll(/class="anchor" data-level="([^"]+)"/g)].map((m) => m[1])).toEqual(["layer2", "layer3", "pool"]);
  expect([...svg.matchAll(/class="fitted"/g)]).toHaveLength(report.suggestion ? report.suggestion.sizes.flat().length : 0);
  expect(svg).toContain(`${report.boxes} boxes of synthetic train`);
});

it("docs/anchors.md lists every data rule with its code and name", async () => {
  const { readFileSync } = await import("node:fs");
  const { dataRules } = await import("../../src/check/data-rules/index.js");
  const docs = readFileSync(new URL("../../docs/anchors.md", import.meta.url), "utf8");
  for (const rule of dataRules) expect(docs).toContain(`| ${rule.code} | ${rule.name} |`);
});
