/** Where data diagnostics point: the `anchors` line, or the detector's name when the spec has none. */
import type { Span } from "../../language/ast.js";
import type { DetectorAnalysis } from "../analysis.js";

export function anchorsSpan(detector: DetectorAnalysis): Span {
  return detector.statements.anchors?.span ?? detector.detector.name?.span ?? detector.detector.span;
}

/** The span from the first to the last of `nodes`, or `fallback` when there are none. */
export function spanOf(nodes: readonly { readonly span: Span }[], fallback: Span): Span {
  const [first, last] = [nodes[0], nodes.at(-1)];
  return first && last ? { start: first.span.start, end: last.span.end } : fallback;
}

/** `16…64`, or `32` for a single size. */
export function sizeRange(sizes: readonly number[]): string {
  const [smallest, largest] = [Math.min(...sizes), Math.max(...sizes)];
  return smallest === largest ? `${smallest}` : `${smallest}…${largest}`;
}

export const thousands = (n: number) => n.toLocaleString("en-US");
