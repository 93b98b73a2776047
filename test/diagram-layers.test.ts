/**
 * `--detail layers` over the whole zoo and every example: every layer drawn, the picture at most
 * 3:1 either way, every edge made of horizontal and vertical pieces that pass through no block but
 * the two they join — DenseNet's dense connections and ResNet-152's 512 layers included.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { diagramGraph, placeDiagram, renderDiagram } from "../src/diagram/index.js";
import type { Box } from "../src/diagram/layout.js";
import { zooDetectors } from "./support/zoo-detectors.js";

const root = join(import.meta.dirname, "..");
const GRAPHVIZ = "/usr/bin/dot";
const examples = readdirSync(join(root, "examples"))
  .filter((f) => f.endsWith(".det"))
  .map((f): [string, string] => [f, readFileSync(join(root, "examples", f), "utf8")]);
const detectors = [...examples, ...zooDetectors().map(([name, , source]): [string, string] => [name, source])];

type Point = readonly [number, number];

/** Whether the segment p–q passes through the inside of the box (its border excluded). */
function entersBox([px, py]: Point, [qx, qy]: Point, box: Box): boolean {
  const [left, right, top, bottom] = [box.x + 0.5, box.x + box.width - 0.5, box.y + 0.5, box.y + box.height - 0.5];
  if (px === qx) return left < px && px < right && Math.max(py, qy) > top && Math.min(py, qy) < bottom;
  return top < py && py < bottom && Math.max(px, qx) > left && Math.min(px, qx) < right;
}

describe("the layers view of every zoo network and example", () => {
  it.each(detectors)("%s: every layer drawn, at most 3:1, edges orthogonal and clear of other blocks", async (_name, source) => {
    const result = checkSource(source);
    const graph = diagramGraph(result.analyses[0]!, result.diagnostics, "layers");
    const svg = (await renderDiagram(graph, "svg")) as string;
    const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]);
    const height = Number(svg.match(/<svg[^>]* height="(\d+)"/)![1]);
    expect(Math.max(width, height) / Math.min(width, height)).toBeLessThanOrEqual(3);
    const layers = graph.nodes.filter((n) => n.part === "backbone");
    expect(layers.length).toBeGreaterThan(5);
    // Each layer a block, its name written in it (a long name wraps at a dot).
    for (const layer of layers) expect(svg).toMatch(new RegExp(`id="node-${layer.id}">(<title>[^<]*</title>)?<rect[^>]*/><text[^>]*>${layer.title.slice(0, 8).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));

    const layout = await placeDiagram(graph);
    const boxes = new Map(layout.nodes.map((n) => [n.node.id, n as Box]));
    for (const { edge, points } of layout.edges) {
      const others = layout.nodes.filter((n) => n.node.id !== edge.from && n.node.id !== edge.to);
      for (const [i, q] of points.slice(1).entries()) {
        const p = points[i]!;
        expect(p[0] === q[0] || p[1] === q[1], `${edge.id} bends diagonally`).toBe(true);
        const hit = others.find((n) => entersBox(p, q, n));
        expect(hit?.node.id, `${edge.id} passes through a block`).toBeUndefined();
      }
      // It starts on its source's border and ends on its target's.
      const [from, to] = [boxes.get(edge.from)!, boxes.get(edge.to)!];
      const onBorder = ([x, y]: Point, b: Box) => x >= b.x - 0.5 && x <= b.x + b.width + 0.5 && y >= b.y - 0.5 && y <= b.y + b.height + 0.5;
      expect(onBorder(points[0]!, from) && onBorder(points[points.length - 1]!, to), edge.id).toBe(true);
    }
  });

  // Graphviz draws the DOT file: the same columns, each from the top (its own routing, and its own
  // placement of parallel branches: GoogLeNet's inception branches side by side come out 6:1).
  it.skipIf(!existsSync(GRAPHVIZ))("the examples' DOT layers views, laid out by Graphviz, are at most 3:1", async () => {
    for (const [name, source] of examples) {
      const result = checkSource(source);
      const dot = (await renderDiagram(diagramGraph(result.analyses[0]!, result.diagnostics, "layers"), "dot")) as string;
      expect(dot).toContain("constraint=false");
      const svg = execFileSync(GRAPHVIZ, ["-Tsvg"], { input: dot, encoding: "utf8" });
      const [, width, height] = svg.match(/<svg width="(\d+)pt" height="(\d+)pt"/)!.map(Number);
      expect(Math.max(width!, height!) / Math.min(width!, height!), name).toBeLessThanOrEqual(3);
    }
  });

  it("the box check finds a segment through a block", () => {
    const box = { x: 0, y: 0, width: 10, height: 10 };
    expect(entersBox([5, -5], [5, 15], box)).toBe(true);
    expect(entersBox([-5, 5], [0, 5], box)).toBe(false);
  });
});
