/**
 * Diagnostics for people, in the style of rustc: `error[E011]: message`, the file position, a
 * code frame with the span underlined and labelled, secondary spans, then expected / found / help.
 */
import { codeFrameColumns, type BabelCodeFrameOptions } from "@babel/code-frame";
import type { Diagnostic, Label, Severity } from "../check/diagnostic.js";
import type { Colors } from "./style.js";

const SEVERITY_WORD: Record<Severity, string> = { error: "error", warning: "warning", info: "note" };

/** Lines of a span a frame shows; the rest of a longer span is left out. */
const MAX_FRAME_LINES = 6;
/** Characters of a line a frame shows, around the span's start. */
const MAX_FRAME_WIDTH = 120;

/** Where each line starts, breaking lines as the lexer does (`\r\n`, `\r`, `\n`). */
function lineStarts(source: string): number[] {
  const starts = [0];
  for (let i = 0; i < source.length; i++) {
    const code = source.charCodeAt(i);
    if (code === 13 && source.charCodeAt(i + 1) === 10) i++;
    if (code === 10 || code === 13) starts.push(i + 1);
  }
  return starts;
}

/** The diagnostics of one file are rendered one after another: its line index is built once. */
let indexed: { source: string; starts: number[] } | undefined;
function startsOf(source: string): number[] {
  if (indexed?.source !== source) indexed = { source, starts: lineStarts(source) };
  return indexed.starts;
}

/**
 * A code frame that stays small whatever the file: the line above and at most MAX_FRAME_LINES
 * lines of the span, each cut to a window of MAX_FRAME_WIDTH characters around the span's start.
 */
function frame(source: string, label: Label, color: boolean): string {
  const starts = startsOf(source);
  const lineText = (line: number) => source.slice(starts[line - 1], (starts[line] ?? source.length + 1) - 1).replace(/[\r\n]+$/, "");
  const { start } = label.span;
  const first = Math.max(1, start.line - 1);
  const last = Math.min(label.span.end.line, start.line + MAX_FRAME_LINES - 1, starts.length);
  const end = label.span.end.line > last ? { line: last, column: lineText(last).length + 1 } : label.span.end;
  const lines = Array.from({ length: last - first + 1 }, (_, i) => lineText(first + i));
  const from = lines.some((l) => l.length > MAX_FRAME_WIDTH) ? Math.max(0, start.column - 1 - MAX_FRAME_WIDTH / 3) : 0;
  const shift = from > 0 ? 1 : 0; // the "…" that stands for what is cut on the left
  const cut = (line: string) =>
    line.length <= from ? "" : `${from > 0 ? "…" : ""}${line.slice(from, from + MAX_FRAME_WIDTH)}${line.length > from + MAX_FRAME_WIDTH ? "…" : ""}`;
  const column = (c: number, line: number) => Math.min(Math.max(c - from + shift, 1), cut(lines[line - first] ?? "").length + 1);
  // Line separators the lexer reads as spaces would start new lines in the frame.
  const excerpt = lines.map(cut).join("\n").replace(/[\u2028\u2029]/g, " ");
  const startColumn = column(start.column, start.line);
  const sameLine = start.line === end.line;
  const endColumn = column(end.column, end.line);
  // `startLine` numbers the excerpt's lines as the file's; @types/babel__code-frame predates it.
  const options: BabelCodeFrameOptions & { startLine: number } = {
    message: label.message,
    linesAbove: 1,
    linesBelow: 0,
    highlightCode: false,
    forceColor: color,
    startLine: first,
  };
  return codeFrameColumns(
    excerpt,
    {
      start: { line: start.line, column: startColumn },
      end: { line: end.line, column: sameLine ? Math.max(endColumn, startColumn + 1) : endColumn },
    },
    options,
  );
}

export function renderDiagnostic(d: Diagnostic, path: string, source: string, c: Colors): string {
  const paint = d.severity === "error" ? c.red : d.severity === "warning" ? c.yellow : c.cyan;
  const { line, column } = d.primary.span.start;
  const lines = [
    `${c.bold(paint(`${SEVERITY_WORD[d.severity]}[${d.code}]`))}${c.bold(`: ${d.message}`)}`,
    `  ${c.blue("-->")} ${path}:${line}:${column}`,
    indent(frame(source, d.primary, c.isColorSupported)),
  ];
  for (const label of d.secondary ?? []) lines.push(indent(frame(source, label, c.isColorSupported)));
  if (d.expected !== undefined) lines.push(`  ${c.blue("=")} expected: ${d.expected}`);
  if (d.found !== undefined) lines.push(`  ${c.blue("=")}    found: ${d.found}`);
  if (d.hint !== undefined) lines.push(`  ${c.blue("=")} ${c.bold("help")}: ${d.hint}`);
  return lines.join("\n");
}

const indent = (text: string) =>
  text
    .split("\n")
    .map((l) => `  ${l}`)
    .join("\n");
