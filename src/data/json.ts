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
    throw syntaxError(text, file, error);
  }
}

function syntaxError(text: string, file: string, error: unknown): DatasetError {
  const offset = firstSyntaxErrorOffset(text);
  const { line, column } = lineAndColumn(text, offset);
  // Drop V8's own position and its echo of the input, which can be long.
  const reason = (error as Error).message
    .replace(/, ".*" is not valid JSON$/s, "")
    .replace(/ in JSON at position \d+.*$/s, "");
  return new DatasetError(file, undefined, `malformed JSON at line ${line}, column ${column}: ${reason}`);
}

/** The error for `text` that the element scanner found malformed: parseJsonFile's, with the position. */
function malformed(text: string, file: string): never {
  try {
    JSON.parse(text);
  } catch (error) {
    throw syntaxError(text, file, error);
  }
  // The scanner and JSON.parse disagree: still an error, without a position.
  throw new DatasetError(file, undefined, "malformed JSON");
}

const [QUOTE, BACKSLASH, COMMA, SPACE] = [0x22, 0x5c, 0x2c, 0x20];
const [OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT] = [0x5b, 0x5d, 0x7b, 0x7d];
// JSON's whitespace: space, tab, newline, carriage return.
const isWhitespace = (char: number) => char <= SPACE && (char === SPACE || char === 0x09 || char === 0x0a || char === 0x0d);

function skipWhitespace(text: string, at: number): number {
  while (isWhitespace(text.charCodeAt(at))) at++;
  return at;
}

/** Where the JSON value starting at `at` ends, found by counting brackets outside strings (JSON.parse checks the rest). */
function endOfValue(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
      if (depth === 0) return i + 1;
    } else if (char === OPEN_ARRAY || char === OPEN_OBJECT) {
      depth++;
    } else if (char === CLOSE_ARRAY || char === CLOSE_OBJECT) {
      if (depth === 0) return i;
      if (--depth === 0) return i + 1;
    } else if (depth === 0 && (char === COMMA || isWhitespace(char))) {
      return i;
    }
  }
  return text.length;
}

const kind = (value: unknown) => (value === null ? "null" : typeof value === "object" ? "an object" : `a ${typeof value}`);

/**
 * Each element of the JSON array `text`, parsed one at a time and handed to `visit` with its index,
 * so that a large array (a results file of 200 000 detections) never exists as objects all at
 * once. Malformed JSON fails as in parseJsonFile, text that is not an array with a DatasetError.
 */
export function forEachJsonArrayElement(text: string, file: string, visit: (element: unknown, index: number) => void): void {
  let at = skipWhitespace(text, 0);
  if (text[at] !== "[") throw new DatasetError(file, undefined, `must be a JSON array, got ${kind(parseJsonFile(text, file))}`);
  at = skipWhitespace(text, at + 1);
  if (text[at] !== "]") {
    for (let index = 0; ; index++) {
      const end = endOfValue(text, at);
      let element: unknown;
      try {
        element = JSON.parse(text.slice(at, end));
      } catch {
        malformed(text, file);
      }
      visit(element, index);
      at = skipWhitespace(text, end);
      if (text[at] === "]") break;
      if (text[at] !== ",") malformed(text, file);
      at = skipWhitespace(text, at + 1);
    }
  }
  if (skipWhitespace(text, at + 1) < text.length) malformed(text, file);
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
