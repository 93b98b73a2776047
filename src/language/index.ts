/**
 * The `.det` front end: text in, a syntax tree and every syntax problem out. It never throws; a
 * file with errors still yields the tree of whatever could be recognised.
 */
import { EOF, type ILexingError, type IRecognitionException, type IToken } from "chevrotain";
import type { ParseResult, Position, Span, SyntaxProblem } from "./ast.js";
import { buildAst } from "./build-ast.js";
import { detParser } from "./parser.js";
import { endOfText, tokenSpan } from "./spans.js";
import { readString } from "./strings.js";
import { detLexer, StringLiteral } from "./tokens.js";

export type * from "./ast.js";

export function parse(text: string): ParseResult {
  const lexed = detLexer.tokenize(text);
  detParser.input = lexed.tokens;
  const cst = detParser.file();
  const { file, problems: structureProblems } = buildAst(cst, lexed.groups["comments"] ?? [], text);
  const problems = [
    ...lexed.errors.map((error) => lexingProblem(error, text)),
    ...lexed.tokens.filter((token) => token.tokenType === StringLiteral).flatMap(stringProblems),
    ...detParser.errors.map((error) => parsingProblem(error, lexed.tokens, text)),
    ...structureProblems,
  ];
  problems.sort((a, b) => a.span.start.offset - b.span.start.offset);
  return { file, problems };
}

function lexingProblem(error: ILexingError, text: string): SyntaxProblem {
  const start: Position = { offset: error.offset, line: error.line ?? 1, column: error.column ?? 1 };
  // The lexer skips up to the next token or blank, so the skipped run stays on one line.
  const end: Position = { offset: start.offset + error.length, line: start.line, column: start.column + error.length };
  const skipped = text.slice(start.offset, end.offset);
  const quoted = skipped.includes("'") ? `"${skipped}"` : `'${skipped}'`;
  const hint = skipped.startsWith("'") ? ": strings are written in double quotes" : "";
  return { message: `unexpected ${error.length === 1 ? "character" : "characters"} ${quoted}${hint}`, span: { start, end } };
}

/** A string token is on one line, so offsets into it map straight to columns. */
function stringProblems(token: IToken): SyntaxProblem[] {
  const { start } = tokenSpan(token);
  const at = (offset: number): Position => ({ offset: start.offset + offset, line: start.line, column: start.column + offset });
  return readString(token.image).flaws.map((flaw) => ({ message: flaw.message, span: { start: at(flaw.from), end: at(flaw.to) } }));
}

/** The parser's message says only what was expected; the place and the neighbours come from the tokens. */
function parsingProblem(error: IRecognitionException, tokens: readonly IToken[], text: string): SyntaxProblem {
  const found = error.token;
  const atEnd = found.tokenType === EOF;
  const previous = atEnd ? tokens.at(-1) : tokens[tokens.indexOf(found) - 1];
  const after = previous ? ` after '${previous.image}'` : "";
  const foundText = atEnd ? "the end of the file" : found.tokenType === StringLiteral ? found.image : `'${found.image}'`;
  // At the end of the file there is no token to underline: point just past the last one.
  const end = previous ? tokenSpan(previous).end : endOfText(text);
  const span: Span = atEnd ? { start: end, end } : tokenSpan(found);
  return { message: `expected ${error.message}${after}, found ${foundText}`, span, expected: error.message };
}
