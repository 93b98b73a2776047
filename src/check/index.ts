/**
 * The checker: parse a `.det` source, analyse every detector, run every rule, and summarise the
 * detectors that came through without errors. Pure: text in, diagnostics and numbers out.
 */
import { parse } from "../language/index.js";
import type { SpecFile } from "../language/ast.js";
import { analyzeDetector, type DetectorAnalysis } from "./analysis.js";
import type { Diagnostic } from "./diagnostic.js";
import type { Rule } from "./rule.js";
import { specifiedRules } from "./rules/index.js";
import { summarize, type DetectorSummary } from "./summary.js";

export const SYNTAX_ERROR = "E001";

export interface CheckResult {
  readonly file: SpecFile;
  readonly diagnostics: readonly Diagnostic[];
  readonly analyses: readonly DetectorAnalysis[];
  /** One per detector that has no errors. */
  readonly detectors: readonly DetectorSummary[];
}

const position = (d: Diagnostic) => d.primary.span.start.offset;

export function checkSource(source: string, rules: readonly Rule[] = specifiedRules): CheckResult {
  const { file, problems } = parse(source);
  const diagnostics: Diagnostic[] = problems.map((p) => ({
    severity: "error",
    code: SYNTAX_ERROR,
    message: p.message,
    primary: { span: p.span, message: p.expected ? `expected ${p.expected}` : "here" },
    expected: p.expected,
  }));
  // Statements before any `detector NAME` line come back as a nameless detector; the parser has
  // already reported them, and checking them as a detector would only add noise.
  const analyses = file.detectors.filter((d) => d.name !== undefined).map(analyzeDetector);
  const detectors: DetectorSummary[] = [];
  for (const detector of analyses) {
    const found: Diagnostic[] = [];
    for (const rule of rules) {
      rule.check({
        detector,
        file: analyses,
        report: ({ severity, ...rest }) => found.push({ severity: severity ?? rule.severity, code: rule.code, ...rest }),
      });
    }
    diagnostics.push(...found);
    const broken = found.some((d) => d.severity === "error") || problems.some((p) => within(p.span.start.offset, detector));
    if (!broken && detector.levels.length > 0) detectors.push(summarize(detector));
  }
  diagnostics.sort((a, b) => position(a) - position(b));
  return { file, diagnostics, analyses, detectors };
}

const within = (offset: number, detector: DetectorAnalysis) =>
  offset >= detector.detector.span.start.offset && offset <= detector.detector.span.end.offset;
