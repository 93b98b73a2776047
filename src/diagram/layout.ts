/**
 * What a laid-out diagram is (placed blocks, routed edges, labels), and the text measures both
 * layouts size blocks by: text is monospace, whose advance width is known, so every block and
 * label is sized before anything is placed.
 */
import type { DiagramEdge, DiagramGraph, DiagramNode, Problem } from "./model.js";

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
