/**
 * The canonical text of a `.det` file (what `detc fmt` writes): one statement per line in a fixed
 * order, detector blocks separated by one blank line, lists as `a, b, c`, numbers as written.
 *
 * Comments move with the code they belong to:
 * - a comment at the end of a line trails the statement (or `detector NAME` line) that ends on
 *   that line, and is printed after it, aligned with the other trailing comments of its block;
 * - any other comment leads the next statement or `detector` line, including a comment written
 *   inside a statement that spans several lines, and is printed on its own line above it;
 * - comments after the last statement stay at the end of the file, and comments above the first
 *   detector that a blank line separates from it stay a header, followed by a blank line.
 *
 * Pure: a tree in, text out. Only a tree without syntax problems is printed faithfully (a
 * recovered tree lacks what the parser could not read), which is why `format` refuses those.
 */
import type {
  AnchorSizeGroup, Comment, DatasetStatement, Detector, Identifier, InputStatement, NumberLiteral,
  Span, SpecFile, Statement, StringLiteral,
} from "./ast.js";
import { parse } from "./index.js";

/** The canonical order of statements inside a detector; settings sections follow in this order. */
const STATEMENT_ORDER = [
  "backbone", "tap", "fpn", "in_channels", "out_channels", "anchors", "roi", "classes", "input", "dataset",
  "rpn", "box", "train",
] as const;

/** The keyword a statement starts with, which is also its place in STATEMENT_ORDER. */
function statementKeyword(statement: Statement): (typeof STATEMENT_ORDER)[number] {
  switch (statement.kind) {
    case "Backbone": return "backbone";
    case "Tap": return "tap";
    case "Fpn": return "fpn";
    case "InChannels": return "in_channels";
    case "OutChannels": return "out_channels";
    case "Anchors": return "anchors";
    case "Roi": return "roi";
    case "Classes": return "classes";
    case "Input": return "input";
    case "Dataset": return "dataset";
    case "Settings": return statement.section.value as "rpn" | "box" | "train";
  }
}

/** The canonical text of `source`, or undefined when it has syntax errors (then it is left alone). */
export function format(source: string): string | undefined {
  const { file, problems } = parse(source);
  return problems.length === 0 ? print(file) : undefined;
}

/** A line of output (a `detector NAME` line or a statement) with the comments attached to it. */
interface Line {
  readonly span: Span;
  readonly text: string;
  readonly leading: Comment[];
  trailing?: Comment;
}

export function print(file: SpecFile): string {
  const blocks = file.detectors.map((detector) => detectorLines(detector));
  const lines = blocks.flat();
  const { header, tail } = attachComments(file, lines);
  const parts: string[] = [];
  if (header.length > 0) parts.push(header.map(commentText).join("\n"));
  parts.push(...blocks.map(renderBlock));
  const body = parts.join("\n\n");
  const end = tail.map(commentText).join("\n");
  const text = body && end ? `${body}\n${end}` : body || end;
  return text ? `${text}\n` : "";
}

/** The header line first, then the statements in canonical order (stable for equal keywords). */
function detectorLines(detector: Detector): Line[] {
  const order = (s: Statement) => STATEMENT_ORDER.indexOf(statementKeyword(s));
  const statements = [...detector.statements].sort((a, b) => order(a) - order(b));
  const header: Line[] = detector.name
    ? [{ span: { start: detector.span.start, end: detector.name.span.end }, text: `detector ${detector.name.value}`, leading: [] }]
    : [];
  return [...header, ...statements.map((s): Line => ({ span: s.span, text: printStatement(s), leading: [] }))];
}

/**
 * Gives every comment its line (see the module comment) and returns the ones no line takes.
 * `lines` are in canonical order, so they are searched in source order.
 */
function attachComments(file: SpecFile, lines: readonly Line[]): { header: Comment[]; tail: Comment[] } {
  const inSource = [...lines].sort((a, b) => a.span.start.offset - b.span.start.offset);
  const tail: Comment[] = [];
  // Lines do not overlap and comments come in source order, so one pass over both finds, for
  // each comment, the last line that ends before it and the next one.
  let ended = 0;
  for (const comment of file.comments) {
    const at = comment.span.start.offset;
    while (ended < inSource.length && inSource[ended]!.span.end.offset <= at) ended++;
    const next = inSource[ended];
    const before = inSource[ended - 1];
    const inside = next !== undefined && next.span.start.offset < at;
    if (!inside && before && before.span.end.line === comment.span.start.line) before.trailing = comment;
    else if (next) next.leading.push(comment);
    else tail.push(comment);
  }
  const first = inSource[0];
  if (first === undefined) return { header: [], tail };
  // The header runs to the last comment above the first line that a blank line follows.
  let headerLength = 0;
  first.leading.forEach((comment, i) => {
    const nextStart = (first.leading[i + 1]?.span ?? first.span).start.line;
    if (nextStart - comment.span.end.line > 1) headerLength = i + 1;
  });
  return { header: first.leading.splice(0, headerLength), tail };
}

function renderBlock(lines: readonly Line[]): string {
  // Trailing comments line up two spaces after the longest line that has one.
  const column = lines.reduce((widest, l) => (l.trailing ? Math.max(widest, l.text.length) : widest), 0) + 2;
  return lines
    .flatMap((line) => [
      ...line.leading.map(commentText),
      line.trailing ? `${line.text.padEnd(column)}${commentText(line.trailing)}` : line.text,
    ])
    .join("\n");
}

const commentText = (comment: Comment) => `#${comment.text}`.trimEnd();

const list = (items: readonly string[]) => items.join(", ");
/** Numbers as written (`1.0` stays `1.0`). */
const numbers = (literals: readonly NumberLiteral[]) => list(literals.map((n) => n.raw));

/** Joins the words that were written, so a partial statement prints what it has. */
const words = (...parts: (string | undefined | false)[]) => parts.filter((p): p is string => typeof p === "string" && p !== "").join(" ");

const names = (ids: readonly Identifier[]) => list(ids.map((id) => id.value));
const raw = (n: NumberLiteral | undefined) => n?.raw;

/** Strings are printed from their value, escaped the way the lexer reads them back. */
function quote(literal: StringLiteral): string {
  const escaped = literal.value.replace(/[\\"\n\r\t]/g, (c) => ({ "\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t" })[c]!);
  return `"${escaped}"`;
}

function printStatement(statement: Statement): string {
  switch (statement.kind) {
    case "Backbone":
      return words(
        "backbone",
        statement.name?.value,
        statement.weights && `weights ${quote(statement.weights)}`,
        statement.trainable && `trainable ${statement.trainable.raw}`,
        statement.batchNormEps && `batch_norm_eps ${statement.batchNormEps.raw}`,
      );
    case "Tap":
      return words("tap", names(statement.nodes));
    case "Fpn":
      return words("fpn", raw(statement.channels), statement.extra && `extra ${statement.extra.value}`);
    case "InChannels":
      return words("in_channels", numbers(statement.values));
    case "OutChannels":
      return words("out_channels", raw(statement.value));
    case "Anchors":
      return words("anchors", "sizes", statement.sizes.map(anchorSizes).join(", "), "ratios", numbers(statement.ratios));
    case "Roi":
      return words(
        "roi",
        "align",
        raw(statement.outputSize),
        "sampling",
        raw(statement.samplingRatio),
        statement.levels && `on ${names(statement.levels)}`,
      );
    case "Classes":
      return words("classes", raw(statement.count), statement.names && list(statement.names.map(quote)));
    case "Input":
      return words("input", inputSize(statement));
    case "Dataset":
      return printDataset(statement);
    case "Settings":
      return words(
        statement.section.value,
        ...statement.settings.map((s) => words(s.key.value, list(s.values.map((v) => (v.kind === "Number" ? v.raw : v.kind === "String" ? quote(v) : v.value))))),
      );
  }
}

const anchorSizes = (group: AnchorSizeGroup) => (group.grouped ? `(${numbers(group.sizes)})` : numbers(group.sizes));

function inputSize(statement: InputStatement): string {
  switch (statement.form) {
    case "square":
      return statement.size.raw;
    case "exact":
      return `${statement.height.raw}x${statement.width.raw}`;
    case "range":
      return `min ${statement.min.raw} max ${statement.max.raw}`;
  }
}

function printDataset(statement: DatasetStatement): string {
  return words(
    "dataset",
    statement.format?.value,
    statement.root && quote(statement.root),
    ...statement.splits.map((split) => words(split.split.value, split.source && quote(split.source), split.images && `images ${quote(split.images)}`)),
  );
}
