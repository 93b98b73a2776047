/** Spans of source text as the AST records them: 1-based lines and columns, exclusive ends. */
import type { CstNode, IToken } from "chevrotain";
import type { Position, Span } from "./ast.js";

export const FILE_START: Position = { offset: 0, line: 1, column: 1 };

/** Chevrotain's ends are inclusive; ours are exclusive. */
export function tokenSpan(token: IToken): Span {
  return {
    start: { offset: token.startOffset, line: token.startLine ?? 1, column: token.startColumn ?? 1 },
    end: {
      offset: (token.endOffset ?? token.startOffset) + 1,
      line: token.endLine ?? 1,
      column: (token.endColumn ?? 0) + 1,
    },
  };
}

/** A CST node's extent, which Chevrotain tracks from the tokens actually written; none if it has none. */
export function nodeSpan(node: CstNode): Span | undefined {
  const location = node.location;
  if (location === undefined || Number.isNaN(location.startOffset)) return undefined;
  return {
    start: { offset: location.startOffset, line: location.startLine ?? 1, column: location.startColumn ?? 1 },
    end: {
      offset: (location.endOffset ?? location.startOffset) + 1,
      line: location.endLine ?? 1,
      column: (location.endColumn ?? 0) + 1,
    },
  };
}

export function joinSpans(first: Span, last: Span): Span {
  return { start: first.start, end: last.end };
}

/** Counts line breaks as Chevrotain does (`\r\n`, `\r`, `\n`), so positions at the end agree with token positions. */
export function endOfText(text: string): Position {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 13 && text.charCodeAt(i + 1) === 10) i++;
    if (code === 10 || code === 13) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset: text.length, line, column: text.length - lineStart + 1 };
}
