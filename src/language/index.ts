/**
 * The `.det` front end: text in, a syntax tree and every syntax problem out. It never throws; a
 * file with errors still yields the tree of whatever could be recognised. Every step is linear in
 * the text, and a text over MAX_SPEC_SIZE is not read at all.
 */
import { EOF, type CstNode, type ILexingError, type IRecognitionException, type IToken } from "chevrotain";
import type { ParseResult, Position, Span, SpecFile, SyntaxProblem } from "./ast.js";
import { buildAst } from "./build-ast.js";
import { clip, grouped, MAX_SPEC_SIZE } from "./limits.js";
import { detParser, SyntaxErrorBudgetSpent } from "./parser.js";
import { endOfText, FILE_START, tokenSpan } from "./spans.js";
import { readString } from "./strings.js";
import { detLexer, LParen, StringLiteral } from "./tokens.js";

export type * from "./ast.js";
export { MAX_SPEC_SIZE } from "./limits.js";

/** Syntax errors a parse recovers from before it stops reading; far more than anyone reads. */
export const MAX_SYNTAX_ERRORS = 500;

export function parse(text: string): ParseResult {
  if (text.length > MAX_SPEC_SIZE) return tooLarge(text);
  const lexed = detLexer.tokenize(text);
  // Characters the lexer could not read count against the same budget as the parser's errors.
  const lexingStop = lexed.errors[MAX_SYNTAX_ERRORS]?.offset;
  const lexedTokens = lexingStop === undefined ? lexed.tokens : lexed.tokens.filter((token) => token.startOffset < lexingStop);
  const { tokens, nesting } = withoutNestedParentheses(lexedTokens);
  const { cst, errors, parsingStop } = parseTokens(tokens);
  const { file, problems: structureProblems } = buildAst(cst, lexed.groups["comments"] ?? [], text);
  const stop = parsingStop ? tokenSpan(parsingStop).start : lexingStop === undefined ? undefined : positionAt(lexed.errors[MAX_SYNTAX_ERRORS]!);
  const read = (offset: number) => stop === undefined || offset < stop.offset;
  const skipped = coalesce([
    ...lexed.errors.filter((error) => read(error.offset)).map((error) => lexingProblem(error, text, tokens)),
    ...errors.map((error) => parsingProblem(error, tokens, text)),
  ]);
  const strings = tokens.filter((token) => token.tokenType === StringLiteral && read(token.startOffset)).flatMap(stringProblems);
  const problems = [...nesting, ...skipped, ...strings, ...structureProblems].filter((p) => read(p.span.start.offset));
  problems.sort((a, b) => a.span.start.offset - b.span.start.offset);
  if (stop) {
    problems.push({ message: `detc stopped reading here after ${grouped(MAX_SYNTAX_ERRORS)} syntax errors; fix the ones above first`, span: { start: stop, end: stop } });
  }
  return { file, problems, ...(stop && { stoppedAt: stop }) };
}

const positionAt = (error: ILexingError): Position => ({ offset: error.offset, line: error.line ?? 1, column: error.column ?? 1 });

/**
 * Parses with an error budget. Once it is spent, the tokens before the place it was spent are
 * parsed again on their own (that parse has fewer errors than the budget), so the tree and the
 * problems cover what was read and nothing after.
 */
function parseTokens(tokens: readonly IToken[]): { cst: CstNode; errors: IRecognitionException[]; parsingStop?: IToken } {
  detParser.input = [...tokens];
  detParser.errorBudget = MAX_SYNTAX_ERRORS;
  try {
    const cst = detParser.file();
    return { cst, errors: detParser.errors };
  } catch (error) {
    if (!(error instanceof SyntaxErrorBudgetSpent)) throw error;
    detParser.input = tokens.slice(0, tokensBefore(tokens, error.token.startOffset));
    detParser.errorBudget = Number.POSITIVE_INFINITY;
    const cst = detParser.file();
    return { cst, errors: detParser.errors, parsingStop: error.token };
  }
}

/**
 * Anchor size groups are one level of parentheses. A `(` right after a `(` is reported once per
 * run and left out of what the parser reads, so `((((…` costs one problem, not one per `(`.
 */
function withoutNestedParentheses(all: readonly IToken[]): { tokens: IToken[]; nesting: SyntaxProblem[] } {
  const tokens: IToken[] = [];
  const nesting: SyntaxProblem[] = [];
  let run: { first: IToken; last: IToken; count: number } | undefined;
  const close = () => {
    if (!run) return;
    const count = run.count === 1 ? "" : ` (${grouped(run.count)} of them)`;
    nesting.push({
      message: `parentheses do not nest: an anchor size group is one list of numbers, such as (32, 64)${count}`,
      span: { start: tokenSpan(run.first).start, end: tokenSpan(run.last).end },
      expected: "a number",
    });
    run = undefined;
  };
  for (const token of all) {
    const nested = token.tokenType === LParen && tokens.at(-1)?.tokenType === LParen;
    if (!nested) {
      close();
      tokens.push(token);
    } else if (run) {
      run.last = token;
      run.count++;
    } else {
      run = { first: token, last: token, count: 1 };
    }
  }
  close();
  return { tokens, nesting };
}

function tooLarge(text: string): ParseResult {
  const file: SpecFile = { kind: "File", detectors: [], comments: [], span: { start: FILE_START, end: endOfText(text) } };
  const message = `this spec is ${grouped(text.length)} characters long; detc reads specs of up to ${grouped(MAX_SPEC_SIZE)} (1 MiB)`;
  return { file, problems: [{ message, span: { start: FILE_START, end: FILE_START } }] };
}

/**
 * A problem found where input was skipped, with where it lies among the tokens: slot 2k is the
 * gap before token k (where the lexer drops characters), slot 2k + 1 is token k itself.
 */
interface SkippedInput {
  readonly problem: SyntaxProblem;
  readonly from: number;
  readonly to: number;
}

/** The index of the first token that starts at or after `offset` (tokens are in source order). */
function tokensBefore(tokens: readonly IToken[], offset: number): number {
  let [low, high] = [0, tokens.length];
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (tokens[middle]!.startOffset < offset) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * The same problem on touching input of one line — a run of 20 000 `(` — is one problem: the
 * first one's message, a span over the whole run, and how many more it stands for. Recovery
 * reports one error per token it skips, and a screen of those says nothing the first does not.
 */
function coalesce(found: SkippedInput[]): SyntaxProblem[] {
  found.sort((a, b) => a.from - b.from);
  const touching = (last: SkippedInput, next: SkippedInput) =>
    last.problem.expected === next.problem.expected &&
    last.problem.span.end.line === next.problem.span.start.line &&
    (next.from <= last.to + 1 || (next.from === last.to + 2 && last.to % 2 === 1 && next.from % 2 === 1));
  const runs: SkippedInput[][] = [];
  for (const item of found) {
    const run = runs.at(-1);
    if (run && touching(run.at(-1)!, item)) run.push(item);
    else runs.push([item]);
  }
  return runs.map((run) => {
    const first = run[0]!.problem;
    if (run.length === 1) return first;
    const end = run.reduce((far, item) => (item.problem.span.end.offset > far.offset ? item.problem.span.end : far), first.span.end);
    const more = run.length - 1;
    return {
      ...first,
      message: `${first.message} (and ${grouped(more)} more syntax error${more === 1 ? "" : "s"} right after it)`,
      span: { start: first.span.start, end },
    };
  });
}

function lexingProblem(error: ILexingError, text: string, tokens: readonly IToken[]): SkippedInput {
  const start = positionAt(error);
  // The lexer skips up to the next token or blank, so the skipped run stays on one line.
  const end: Position = { offset: start.offset + error.length, line: start.line, column: start.column + error.length };
  const skipped = clip(text.slice(start.offset, end.offset));
  const quoted = skipped.includes("'") ? `"${skipped}"` : `'${skipped}'`;
  const hint = skipped.startsWith("'") ? ": strings are written in double quotes" : "";
  const slot = 2 * tokensBefore(tokens, error.offset);
  return { problem: { message: `unexpected ${error.length === 1 ? "character" : "characters"} ${quoted}${hint}`, span: { start, end } }, from: slot, to: slot };
}

/** A string token is on one line, so offsets into it map straight to columns. */
function stringProblems(token: IToken): SyntaxProblem[] {
  const { start } = tokenSpan(token);
  const at = (offset: number): Position => ({ offset: start.offset + offset, line: start.line, column: start.column + offset });
  return readString(token.image).flaws.map((flaw) => ({ message: flaw.message, span: { start: at(flaw.from), end: at(flaw.to) } }));
}

/** The parser's message says only what was expected; the place and the neighbours come from the tokens. */
function parsingProblem(error: IRecognitionException, tokens: readonly IToken[], text: string): SkippedInput {
  const found = error.token;
  const atEnd = found.tokenType === EOF;
  const index = atEnd ? tokens.length : tokensBefore(tokens, found.startOffset);
  const previous = tokens[index - 1];
  const after = previous ? ` after '${clip(previous.image)}'` : "";
  const foundText = atEnd ? "the end of the file" : found.tokenType === StringLiteral ? clip(found.image) : `'${clip(found.image)}'`;
  // At the end of the file there is no token to underline: point just past the last one.
  const end = previous ? tokenSpan(previous).end : endOfText(text);
  const span: Span = atEnd ? { start: end, end } : tokenSpan(found);
  const message = `expected ${error.message}${after}, found ${foundText}`;
  const resynced = error.resyncedTokens.at(-1);
  const last = resynced ? tokensBefore(tokens, resynced.startOffset) : index;
  return { problem: { message, span, expected: error.message }, from: 2 * index + 1, to: 2 * Math.max(index, last) + 1 };
}
