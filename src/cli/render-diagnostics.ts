/**
 * Diagnostics for people, in the style of rustc: `error[E011]: message`, the file position, a
 * code frame with the span underlined and labelled, secondary spans, then expected / found / help.
 */
import { codeFrameColumns } from "@babel/code-frame";
import type { Diagnostic, Label, Severity } from "../check/diagnostic.js";
import type { Colors } from "./style.js";

const SEVERITY_WORD: Record<Severity, string> = { error: "error", warning: "warning", info: "note" };

function frame(source: string, label: Label, color: boolean): string {
  const { start, end } = label.span;
  const sameLine = start.line === end.line;
  return codeFrameColumns(
    source,
    {
      start: { line: start.line, column: start.column },
      end: sameLine ? { line: end.line, column: Math.max(end.column, start.column + 1) } : { line: end.line, column: end.column },
    },
    { message: label.message, linesAbove: 1, linesBelow: 0, highlightCode: false, forceColor: color },
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
