/** The shape of a checker rule: one guarantee, one stable code, reported through the context. */
import type { Diagnostic } from "./diagnostic.js";
import type { DetectorAnalysis } from "./analysis.js";

export type Report = Omit<Diagnostic, "code" | "severity"> & { readonly severity?: Diagnostic["severity"] };

export interface RuleContext {
  /** The detector being checked. */
  readonly detector: DetectorAnalysis;
  /** Every detector of the same file (for rules across detectors). */
  readonly file: readonly DetectorAnalysis[];
  report(diagnostic: Report): void;
}

export interface Rule {
  /** Stable diagnostic code; errors start with E, warnings with W, notes with I. */
  readonly code: string;
  /** What the rule guarantees, as its file is named. */
  readonly name: string;
  readonly severity: Diagnostic["severity"];
  check(context: RuleContext): void;
}
