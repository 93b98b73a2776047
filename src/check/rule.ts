/** The shape of a checker rule: one guarantee, one stable code, reported through the context. */
import type { Diagnostic } from "./diagnostic.js";
import type { DetectorAnalysis } from "./analysis.js";

export type Report = Omit<Diagnostic, "code" | "severity"> & { readonly severity?: Diagnostic["severity"] };

/** What a file the spec names is, as the edge found it (the checker itself reads no files). */
export type FileKind = "file" | "directory" | "missing" | "unreadable";

/** A path as written in the spec → what is there, and the absolute path it was looked for at. */
export type FileLookup = (path: string) => { readonly kind: FileKind; readonly resolved: string };

export interface RuleContext {
  /** The detector being checked. */
  readonly detector: DetectorAnalysis;
  /** Every detector of the same file (for rules across detectors). */
  readonly file: readonly DetectorAnalysis[];
  /** Given by the CLI and the language server, which know where the spec is; rules about files are silent without it. */
  readonly files?: FileLookup;
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
