/**
 * Bounds on what the front end reads, so that any input is answered in bounded time and memory.
 * The grammar has no recursive rule (anchor size groups are one level of parentheses), so the
 * parser's depth is fixed by the grammar and needs no nesting limit of its own.
 */

/** The largest spec read: bytes of a file, characters of an editor's document. Real specs are a few KB. */
export const MAX_SPEC_SIZE = 1024 * 1024;

/** How much of the user's text a message quotes: a 1 MB name is shown by its start. */
export const MAX_QUOTED_LENGTH = 40;

/** `text`, or its start and an ellipsis when it is longer than `max` characters. */
export function clip(text: string, max = MAX_QUOTED_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** `1,048,576`: sizes in messages, grouped the way people read them. */
export const grouped = (n: number) => n.toLocaleString("en-US");
