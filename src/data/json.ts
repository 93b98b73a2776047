/**
 * `JSON.parse` whose failure names the file, line and column. V8 reports a position for some
 * syntax errors only (not for "Unexpected token"), so on failure the text is rescanned to find
 * where it stops being JSON.
 */
import { DatasetError } from "./dataset.js";

export function parseJsonFile(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    const offset = firstSyntaxErrorOffset(text);
    const { line, column } = lineAndColumn(text, offset);
    // Drop V8's own position and its echo of the input, which can be long.
    const reason = (error as Error).message
      .replace(/, ".*" is not valid JSON$/s, "")
      .replace(/ in JSON at position \d+.*$/s, "");
    throw new DatasetError(file, undefined, `malformed JSON at line ${line}, column ${column}: ${reason}`);
  }
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

class SyntaxStop {
  constructor(readonly offset: number) {}
}

/** Offset of the first character at which `text` (known to be invalid) is no longer JSON. */
function firstSyntaxErrorOffset(text: string): number {
  let at = 0;
  const stop = (): never => {
    throw new SyntaxStop(at);
  };
  const skipWhitespace = (): void => {
    while (at < text.length && " \t\n\r".includes(text.charAt(at))) at++;
  };
  const expect = (pattern: RegExp): void => {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (match === null) stop();
    else at += match[0].length;
  };
  const string = (): void => {
    at++; // opening quote
    for (;;) {
      if (at >= text.length || text.charCodeAt(at) < 0x20) stop();
      if (text[at] === '"') return void at++;
      if (text[at] === "\\") expect(/\\(["\\/bfnrt]|u[0-9a-fA-F]{4})/y);
      else at++;
    }
  };
  const value = (): void => {
    skipWhitespace();
    const char = text[at];
    if (char === "{") {
      at++;
      skipWhitespace();
      if (text[at] === "}") return void at++;
      for (;;) {
        skipWhitespace();
        if (text[at] !== '"') stop();
        string();
        skipWhitespace();
        if (text[at] !== ":") stop();
        at++;
        value();
        skipWhitespace();
        if (text[at] === "}") return void at++;
        if (text[at] !== ",") stop();
        at++;
      }
    } else if (char === "[") {
      at++;
      skipWhitespace();
      if (text[at] === "]") return void at++;
      for (;;) {
        value();
        skipWhitespace();
        if (text[at] === "]") return void at++;
        if (text[at] !== ",") stop();
        at++;
      }
    } else if (char === '"') {
      string();
    } else {
      expect(/-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?(?![\w.])|true\b|false\b|null\b/y);
    }
  };
  try {
    value();
    skipWhitespace();
    if (at < text.length) stop();
  } catch (error) {
    if (error instanceof SyntaxStop) return error.offset;
    throw error;
  }
  return text.length;
}
