/**
 * Positions for a diagram graph, computed by ELK's layered (Sugiyama) algorithm, left to right.
 * Nodes and edge labels are sized from their text in a monospace font, whose advance width is
 * known, so ELK can keep every label clear of every other.
 */
import elkBundle from "elkjs/lib/elk.bundled.js";
import type { ELK as ElkEngine, ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { DiagramEdge, DiagramGraph, DiagramNode, Problem } from "./model.js";
import { InputError } from "../util/input-error.js";

/** The bundle is CommonJS whose `module.exports` is the constructor; its typings call it `default`. */
const ELK = elkBundle as unknown as new () => ElkEngine;

export const FONT_SIZE = 12;
/** DejaVu Sans Mono's advance is 0.602 em; rounding up keeps text inside its box in other monospace fonts. */
export const CHAR_WIDTH = FONT_SIZE * 0.62;
export const LINE_HEIGHT = 16;
export const PADDING = 10;
/** Long diagnostic messages are cut here on the diagram; the full text is in the tooltip. */
const PROBLEM_CHARS = 56;

export interface TextLine {
  readonly text: string;
  readonly kind: "title" | "body" | Problem["severity"];
}

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface PlacedNode extends Box {
  readonly node: DiagramNode;
  readonly text: readonly TextLine[];
  /** A junction (the FPN's top-down add) is drawn as a small ⊕, its text in the tooltip. */
  readonly shape?: "junction";
}

export interface PlacedEdge {
  readonly edge: DiagramEdge;
  readonly points: readonly (readonly [number, number])[];
  readonly label?: Box & { readonly text: readonly TextLine[] };
}

export interface DiagramLayout {
  readonly graph: DiagramGraph;
  readonly width: number;
  readonly height: number;
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
}

export const problemText = (p: Problem) => {
  const text = `${p.code} ${p.message}`;
  return text.length > PROBLEM_CHARS ? `${text.slice(0, PROBLEM_CHARS - 1)}…` : text;
};

const problemLines = (problems: readonly Problem[]): TextLine[] => problems.map((p) => ({ text: problemText(p), kind: p.severity }));

export const textWidth = (text: string) => Math.ceil(text.length * CHAR_WIDTH);

export const textSize = (lines: readonly TextLine[], padding: number) => ({
  width: Math.max(...lines.map((l) => textWidth(l.text))) + 2 * padding,
  height: lines.length * LINE_HEIGHT + 2 * padding - 4,
});

export function nodeText(node: DiagramNode): TextLine[] {
  return [{ text: node.title, kind: "title" }, ...node.lines.map((text) => ({ text, kind: "body" as const })), ...problemLines(node.problems)];
}

export function edgeText(edge: DiagramEdge): TextLine[] {
  return [...(edge.label ? [{ text: edge.label, kind: "body" as const }] : []), ...problemLines(edge.problems)];
}

const LAYOUT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "RIGHT",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.spacing.nodeNode": "28",
  "elk.spacing.edgeLabel": "4",
  "elk.spacing.edgeEdge": "14",
  "elk.layered.spacing.nodeNodeBetweenLayers": "32",
  "elk.layered.spacing.edgeNodeBetweenLayers": "20",
  "elk.layered.spacing.edgeEdgeBetweenLayers": "14",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  // On the line itself, so each shape is unmistakably its edge's.
  "elk.edgeLabels.inline": "true",
  "elk.layered.edgeLabels.centerLabelPlacementStrategy": "TAIL_LAYER",
  "elk.layered.crossingMinimization.semiInteractive": "false",
  "elk.padding": "[top=0,left=0,bottom=0,right=0]",
};

export async function layoutDiagram(graph: DiagramGraph): Promise<DiagramLayout> {
  const texts = new Map(graph.nodes.map((n) => [n.id, nodeText(n)]));
  const labels = new Map(graph.edges.map((e) => [e.id, edgeText(e)]));
  const elkGraph: ElkNode = {
    id: "root",
    layoutOptions: LAYOUT_OPTIONS,
    children: graph.nodes.map((n) => ({ id: n.id, ...textSize(texts.get(n.id)!, PADDING) })),
    edges: graph.edges.map(
      (e): ElkExtendedEdge => ({
        id: e.id,
        sources: [e.from],
        targets: [e.to],
        // ELK ignores a label without text, whatever its size.
        labels: labels.get(e.id)!.length === 0 ? [] : [{ id: `${e.id}:label`, text: labels.get(e.id)!.map((l) => l.text).join("\n"), ...textSize(labels.get(e.id)!, 3) }],
      }),
    ),
  };
  const placed = await new ELK()
    .layout(elkGraph)
    .catch((error: unknown) => {
      // ELK recurses along long chains of dense connections (DenseNet's layers view) until the stack runs out.
      if (!(error instanceof RangeError)) throw error;
      throw new InputError(
        `the layout engine (ELK) cannot place ${graph.nodes.length} boxes and ${graph.edges.length} edges (its call stack overflows); ` +
          "draw `--detail stages`, or write DOT (`-o diagram.dot`) and lay it out with Graphviz",
      );
    });
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const edgesById = new Map(graph.edges.map((e) => [e.id, e]));
  return {
    graph,
    width: placed.width ?? 0,
    height: placed.height ?? 0,
    nodes: (placed.children ?? []).map((c) => ({ node: byId.get(c.id)!, x: c.x!, y: c.y!, width: c.width!, height: c.height!, text: texts.get(c.id)! })),
    edges: (placed.edges ?? []).map((e) => {
      const section = e.sections![0]!;
      const points = [section.startPoint, ...(section.bendPoints ?? []), section.endPoint].map((p) => [p.x, p.y] as const);
      const label = e.labels?.[0];
      return {
        edge: edgesById.get(e.id)!,
        points,
        ...(label && { label: { x: label.x!, y: label.y!, width: label.width!, height: label.height!, text: labels.get(e.id)! } }),
      };
    }),
  };
}
