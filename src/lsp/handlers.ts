/**
 * What the language server answers, as pure functions of a document's text: the checker's
 * diagnostics, hovers with the inferred type of a backbone, tap or RoI level, completions of
 * backbone names, tap nodes and levels, and the printer's formatting. server.ts wires them to a
 * connection.
 */
import type { IToken } from "chevrotain";
import {
  CodeActionKind, CompletionItemKind, DiagnosticSeverity, MarkupKind, TextEdit,
  type CodeAction, type CompletionItem, type Diagnostic as LspDiagnostic, type Hover, type Range,
} from "vscode-languageserver";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { checkSource } from "../check/index.js";
import type { DetectorAnalysis, FeatureLevel } from "../check/analysis.js";
import type { Diagnostic, Severity } from "../check/diagnostic.js";
import type { FileLookup } from "../check/rule.js";
import type { Position, Span } from "../language/ast.js";
import { MAX_SPEC_SIZE } from "../language/index.js";
import { format } from "../language/printer.js";
import { Backbone, Comma, detLexer, Detector, keywords, On, Roi, Tap } from "../language/tokens.js";
import { tapPoints } from "../zoo/tap-points.js";
import { backbones } from "../zoo/index.js";
import { countParameters } from "../zoo/graph.js";

const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

/** LSP positions are 0-based; ours are 1-based. Both count UTF-16 code units, as JavaScript does. */
const lspPosition = (p: Position) => ({ line: p.line - 1, character: p.column - 1 });
export const lspRange = (span: Span): Range => ({ start: lspPosition(span.start), end: lspPosition(span.end) });

/** A diagnostic's fix travels in its `data`, so a code action can apply it without checking again. */
interface FixData {
  readonly fix: TextEdit;
}

export function toLspDiagnostic(d: Diagnostic, uri: string): LspDiagnostic {
  return {
    range: lspRange(d.primary.span),
    severity: SEVERITY[d.severity],
    code: d.code,
    source: "detc",
    message: [
      d.message,
      d.expected !== undefined && `expected: ${d.expected}`,
      d.found !== undefined && `found: ${d.found}`,
      d.hint !== undefined && `help: ${d.hint}`,
    ].filter(Boolean).join("\n"),
    ...(d.secondary && {
      relatedInformation: d.secondary.map((label) => ({ location: { uri, range: lspRange(label.span) }, message: label.message })),
    }),
    ...(d.fix && { data: { fix: TextEdit.replace(lspRange(d.fix.span), d.fix.replacement) } satisfies FixData }),
  };
}

/** Quick fixes for the diagnostics the editor shows at a place: each one that carries a fix applies it. */
export function codeActions(document: TextDocument, shown: readonly LspDiagnostic[]): CodeAction[] {
  return shown.flatMap((diagnostic) => {
    const fix = (diagnostic.data as Partial<FixData> | undefined)?.fix;
    if (fix === undefined) return [];
    return [{ title: `Write \`${fix.newText.trim()}\``, kind: CodeActionKind.QuickFix, diagnostics: [diagnostic], isPreferred: true, edit: { changes: { [document.uri]: [fix] } } }];
  });
}

/** `files`: where the files the spec names are (the server gives it for documents on disk). */
export function diagnostics(document: TextDocument, files?: FileLookup): LspDiagnostic[] {
  const result = checkSource(document.getText(), { ...(files && { files }) });
  const listed = result.diagnostics.map((d) => toLspDiagnostic(d, document.uri));
  const last = result.diagnostics.at(-1);
  if (result.omitted === 0 || last === undefined) return listed;
  // The problems list shows what the CLI lists; the rest are counted where the list ends.
  const more: LspDiagnostic = {
    range: lspRange(last.primary.span),
    severity: DiagnosticSeverity.Information,
    source: "detc",
    message: `${result.omitted.toLocaleString("en-US")} more problems in this file are not listed (the first ${result.diagnostics.length} are)`,
  };
  return [...listed, more];
}

/** The whole document replaced by its canonical text; nothing when it is canonical or has syntax errors. */
export function formattingEdits(document: TextDocument): TextEdit[] {
  const text = document.getText();
  const formatted = format(text);
  if (formatted === undefined || formatted === text) return [];
  return [TextEdit.replace({ start: { line: 0, character: 0 }, end: document.positionAt(text.length) }, formatted)];
}

const contains = (span: Span, offset: number) => span.start.offset <= offset && offset <= span.end.offset;
const size = (height: number, width: number) => `${height}×${width}`;

/** The detector the offset is in: the last one starting before it (it owns the lines after it). */
function detectorAt(analyses: readonly DetectorAnalysis[], offset: number): DetectorAnalysis | undefined {
  return analyses.filter((a) => a.detector.span.start.offset <= offset).at(-1);
}

export function hover(document: TextDocument, offset: number): Hover | null {
  const analysis = detectorAt(checkSource(document.getText()).analyses, offset);
  if (analysis === undefined) return null;
  const markdown = (value: string, span: Span): Hover => ({ contents: { kind: MarkupKind.Markdown, value }, range: lspRange(span) });

  const backboneName = analysis.statements.backbone?.name;
  if (backboneName && contains(backboneName.span, offset) && analysis.backbone && analysis.graph) {
    const parameters = countParameters(analysis.graph.nodes).toLocaleString("en-US");
    const lines = [`**${analysis.backbone.name}** · torchvision ${analysis.backbone.family} · ${parameters} parameters`];
    if (analysis.levels.length > 0) {
      lines.push("", `Feature levels at ${inputText(analysis)}:`, "", "| level | node | channels | stride | size |", "|---|---|---|---|---|");
      for (const level of analysis.levels)
        lines.push(`| ${level.name} | ${level.node} | ${channelsText(level)} | ${level.stride} | ${size(level.height, level.width)} |`);
    }
    return markdown(lines.join("\n"), backboneName.span);
  }

  const tap = analysis.taps.find((t) => contains(t.id.span, offset));
  if (tap?.node && tap.type && tap.type.stride !== null) {
    const [, channels = 0, height = 0, width = 0] = tap.type.shape;
    const level = analysis.levels.find((l) => l.name === tap.id.value);
    const lines = [
      `**${tap.id.value}**${tap.node.name === tap.id.value ? "" : ` → \`${tap.node.name}\``}`,
      "",
      `${level ? channelsText(level) : channels} channels · stride ${tap.type.stride} · ${size(height, width)} at ${inputText(analysis)}`,
    ];
    if (tap.type.receptiveField !== null) lines.push("", `receptive field ${tap.type.receptiveField}`);
    return markdown(lines.join("\n"), tap.id.span);
  }

  const roiLevel = analysis.statements.roi?.levels?.find((id) => contains(id.span, offset));
  const level = roiLevel && analysis.levels.find((l) => l.name === roiLevel.value);
  if (roiLevel && level) {
    const origin = level.extra ? "max-pool of the last level" : `\`${level.node}\``;
    return markdown(
      `**${level.name}** (${origin})\n\n${channelsText(level)} channels · stride ${level.stride} · ${size(level.height, level.width)} at ${inputText(analysis)}`,
      roiLevel.span,
    );
  }
  return null;
}

const channelsText = (level: FeatureLevel) => (level.channels === level.outChannels ? `${level.channels}` : `${level.channels} → ${level.outChannels}`);
const inputText = (analysis: DetectorAnalysis) => `input ${size(analysis.input.paddedHeight, analysis.input.paddedWidth)}`;

const STATEMENT_KEYWORDS = keywords.filter((k) => k.CATEGORIES === undefined || k.CATEGORIES.length === 0);
const isStatementKeyword = (token: IToken) => STATEMENT_KEYWORDS.includes(token.tokenType);

/**
 * Completions from the tokens before the cursor: the statement they are in decides what may come
 * next. Names may contain dots, so the word being typed is replaced whole (`features.1|`).
 */
export function completions(document: TextDocument, offset: number): CompletionItem[] {
  const text = document.getText();
  // Past the size limit the checker reads nothing, and neither does completion.
  if (text.length > MAX_SPEC_SIZE) return [];
  const tokens = detLexer.tokenize(text.slice(0, offset)).tokens;
  const last = tokens.at(-1);
  const typing = last && (last.endOffset ?? last.startOffset) + 1 === offset && /^[\w.-]+$/.test(last.image) ? last : undefined;
  const before = typing ? tokens.slice(0, -1) : tokens;
  const replace: Range = {
    start: document.positionAt(typing ? typing.startOffset : offset),
    end: document.positionAt(offset),
  };
  const item = (label: string, kind: CompletionItemKind, detail: string | undefined, rank: number): CompletionItem => ({
    label,
    kind,
    ...(detail !== undefined && { detail }),
    sortText: String(rank).padStart(5, "0"),
    textEdit: TextEdit.replace(replace, label),
  });

  const statement = [...before].reverse().find(isStatementKeyword);
  const clause = statement ? before.slice(before.indexOf(statement) + 1) : before;
  const previous = before.at(-1);
  const afterListStart = (start: IToken | undefined) => previous !== undefined && (previous === start || previous.tokenType === Comma);

  if (statement?.tokenType === Backbone && clause.length === 0)
    return backbones.map((b, i) => item(b.name, CompletionItemKind.Module, `torchvision ${b.family}`, i));

  const analysis = statement && detectorAt(checkSource(text).analyses, offset);
  if (statement?.tokenType === Tap && afterListStart(statement)) {
    if (!analysis?.backbone || !analysis.types) return [];
    const taps = tapPoints(analysis.graph!, [analysis.input.paddedHeight, analysis.input.paddedWidth]);
    return taps.map((t, i) =>
      item(
        t.node,
        CompletionItemKind.Field,
        `stride ${t.stride} · ${t.channels} channels · ${size(t.height, t.width)}${t.resolvesTo ? ` → ${t.resolvesTo}` : ""}`,
        i,
      ),
    );
  }
  const on = clause.find((t) => t.tokenType === On);
  if (statement?.tokenType === Roi && afterListStart(on)) {
    const levels = (analysis?.levels ?? []).filter((l) => !l.extra);
    return levels.map((l, i) => item(l.name, CompletionItemKind.Field, `stride ${l.stride} · ${channelsText(l)} channels`, i));
  }

  // A statement keyword fits at the start of a line that neither continues a list nor names a detector.
  const wordStart = typing ? typing.startOffset : offset;
  const atLineStart = /^\s*$/.test(text.slice(text.lastIndexOf("\n", wordStart - 1) + 1, wordStart));
  const namingDetector = statement?.tokenType === Detector && clause.length === 0;
  if (atLineStart && previous?.tokenType !== Comma && !namingDetector)
    return STATEMENT_KEYWORDS.map((k, i) => item(String(k.PATTERN), CompletionItemKind.Keyword, undefined, i));
  return [];
}
