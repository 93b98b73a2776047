/**
 * The checker: parse a `.det` source, analyse every detector, run every rule, and summarise the
 * detectors that came through without errors. Pure: text in, diagnostics and numbers out, in time
 * linear in the text.
 */
import { parse } from "../language/index.js";
import type { SpecFile, SyntaxProblem } from "../language/ast.js";
import { analyzeDetector, type DetectorAnalysis, type TypeCache } from "./analysis.js";
import type { Diagnostic, Label, Severity } from "./diagnostic.js";
import type { FileLookup, Rule } from "./rule.js";
import { specifiedRules } from "./rules/index.js";
import { summarize, type DetectorSummary } from "./summary.js";

export const SYNTAX_ERROR = "E001";

/**
 * Diagnostics listed per file. Past this, a file is machine-made or not a spec, and the first
 * ones say what is wrong; the others are counted, never dropped silently.
 */
export const MAX_DIAGNOSTICS = 100;

export interface CheckResult {
  readonly file: SpecFile;
  /** At most MAX_DIAGNOSTICS, errors kept first, in source order. */
  readonly diagnostics: readonly Diagnostic[];
  /** Every diagnostic found by severity, listed or not. */
  readonly counts: Readonly<Record<Severity, number>>;
  /** How many were found but not listed. */
  readonly omitted: number;
  readonly analyses: readonly DetectorAnalysis[];
  /** One per detector that has no errors. */
  readonly detectors: readonly DetectorSummary[];
}

const position = (d: Diagnostic) => d.primary.span.start.offset;

export function syntaxDiagnostics(problems: readonly SyntaxProblem[]): Diagnostic[] {
  return problems.map((p) => ({
    severity: "error",
    code: SYNTAX_ERROR,
    message: p.message,
    primary: { span: p.span, message: p.expected ? `expected ${p.expected}` : "here" },
    expected: p.expected,
  }));
}

export interface CheckOptions {
  readonly rules?: readonly Rule[];
  /** Where the files the spec names are, so they are checked too (`weights "PATH"`). */
  readonly files?: FileLookup;
}

export function checkSource(source: string, { rules = specifiedRules, files }: CheckOptions = {}): CheckResult {
  const { file, problems, stoppedAt } = parse(source);
  const diagnostics = syntaxDiagnostics(problems);
  // Statements before any `detector NAME` line come back as a nameless detector; the parser has
  // already reported them, and checking them as a detector would only add noise. Nor is the
  // detector where reading stopped checked: its missing rest is not the user's mistake.
  const read = stoppedAt === undefined ? file.detectors : file.detectors.slice(0, -1);
  const types: TypeCache = new Map();
  const analyses = read.filter((d) => d.name !== undefined).map((d) => analyzeDetector(d, types));
  const syntaxOffsets = problems.map((p) => p.span.start.offset).sort((a, b) => a - b);
  const detectors: DetectorSummary[] = [];
  analyses.forEach((detector, i) => {
    let broken = false;
    for (const rule of rules) {
      rule.check({
        detector,
        file: analyses,
        ...(files && { files }),
        report: ({ severity, ...rest }) => {
          const found: Diagnostic = bounded({ severity: severity ?? rule.severity, code: rule.code, ...rest });
          diagnostics.push(found);
          broken ||= found.severity === "error";
        },
      });
    }
    // A detector owns the text up to the next one, input the parser skipped included.
    const end = analyses[i + 1]?.detector.span.start.offset ?? Number.POSITIVE_INFINITY;
    const syntaxError = anyWithin(syntaxOffsets, detector.detector.span.start.offset, end);
    if (!broken && !syntaxError && detector.levels.length > 0) detectors.push(summarize(detector));
  });
  diagnostics.sort((a, b) => position(a) - position(b));
  return { file, ...listed(diagnostics), analyses, detectors };
}

/** Characters a diagnostic's texts keep: rules quote names and lists, which a spec can make megabytes long. */
export const MAX_MESSAGE_LENGTH = 1000;

/** The start and the end of a long text, with how much was left out between them. */
function clipMiddle(text: string): string {
  if (text.length <= MAX_MESSAGE_LENGTH) return text;
  const [head, tail] = [Math.floor(MAX_MESSAGE_LENGTH * 0.7), Math.floor(MAX_MESSAGE_LENGTH * 0.3)];
  return `${text.slice(0, head)} …(${(text.length - head - tail).toLocaleString("en-US")} characters)… ${text.slice(-tail)}`;
}

function bounded(d: Diagnostic): Diagnostic {
  const label = (l: Label): Label => ({ ...l, message: clipMiddle(l.message) });
  return {
    ...d,
    message: clipMiddle(d.message),
    primary: label(d.primary),
    ...(d.secondary && { secondary: d.secondary.map(label) }),
    ...(d.expected !== undefined && { expected: clipMiddle(d.expected) }),
    ...(d.found !== undefined && { found: clipMiddle(d.found) }),
    ...(d.hint !== undefined && { hint: clipMiddle(d.hint) }),
  };
}

/** Whether a sorted list holds an offset in [from, to). */
function anyWithin(sorted: readonly number[], from: number, to: number): boolean {
  let [low, high] = [0, sorted.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! < from) low = middle + 1;
    else high = middle;
  }
  return low < sorted.length && sorted[low]! < to;
}

const SEVERITIES: readonly Severity[] = ["error", "warning", "info"];

/** The diagnostics to list (errors first when there are too many, so `ok` is never hidden) and the counts. */
function listed(all: readonly Diagnostic[]): Pick<CheckResult, "diagnostics" | "counts" | "omitted"> {
  const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
  for (const d of all) counts[d.severity]++;
  if (all.length <= MAX_DIAGNOSTICS) return { diagnostics: all, counts, omitted: 0 };
  const kept = new Set<Diagnostic>();
  for (const severity of SEVERITIES)
    for (const d of all) {
      if (kept.size === MAX_DIAGNOSTICS) break;
      if (d.severity === severity) kept.add(d);
    }
  return { diagnostics: all.filter((d) => kept.has(d)), counts, omitted: all.length - kept.size };
}
