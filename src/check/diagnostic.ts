/** What the checker says about a spec: rustc/Elm-style diagnostics that carry their source spans. */
import type { Span } from "../language/ast.js";

export type Severity = "error" | "warning" | "info";

export interface Label {
  readonly span: Span;
  readonly message: string;
}

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable code (`E011`), documented in docs/diagnostics.md; tools may match on it. */
  readonly code: string;
  readonly message: string;
  /** Where the problem is, and a short label shown under the underlined text. */
  readonly primary: Label;
  /** Other places that explain it (the statement it conflicts with, …). */
  readonly secondary?: readonly Label[];
  readonly expected?: string;
  readonly found?: string;
  /** What to do about it, in the spec's own terms. */
  readonly hint?: string;
  /** An edit that applies the hint (the language server offers it as a code action). */
  readonly fix?: { readonly span: Span; readonly replacement: string };
}

export const errorCount = (diagnostics: readonly Diagnostic[]) =>
  diagnostics.filter((d) => d.severity === "error").length;
