/**
 * What a string literal means. The lexer accepts any `"…` on one line so that a broken string is
 * still one token; this is where it is read and, when broken, explained.
 */

const ESCAPES: Readonly<Record<string, string>> = { '"': '"', "\\": "\\", "/": "/", n: "\n", r: "\r", t: "\t" };

export interface StringFlaw {
  readonly message: string;
  /** Offsets into the literal as written, quotes included; `to` is exclusive. */
  readonly from: number;
  readonly to: number;
}

export interface ReadString {
  readonly value: string;
  readonly flaws: readonly StringFlaw[];
}

/** The value of a string literal; an unknown escape is kept as written, so `C:\w` stays itself. */
export function readString(literal: string): ReadString {
  const flaws: StringFlaw[] = [];
  const closed = /^"(?:[^"\\]|\\.)*"$/.test(literal);
  if (!closed) {
    flaws.push({ message: "this string has no closing '\"' on its line", from: 0, to: literal.length });
  }
  const body = literal.slice(1, closed ? -1 : undefined);
  const value = body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (escape: string, code: string, at: number) => {
    if (code.length === 5) return String.fromCharCode(parseInt(code.slice(1), 16));
    const decoded = ESCAPES[code];
    if (decoded !== undefined) return decoded;
    flaws.push({
      message: `unknown escape '${escape}' in a string: write '\\\\' for a backslash, or '/' in paths`,
      from: 1 + at,
      to: 1 + at + escape.length,
    });
    return escape;
  });
  return { value, flaws };
}
