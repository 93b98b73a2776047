/** Short phrases rules share when they talk about feature maps and numbers. */
import type { NodeType } from "../zoo/infer.js";
import type { Span } from "../language/ast.js";

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `512 ch, stride 16` */
export function describeType(type: NodeType | undefined): string {
  if (!type) return "?";
  if (type.layout !== "nchw" || type.stride === null) return `shape [${type.shape.join(", ")}]`;
  return `${type.shape[1]} ch, stride ${type.stride}`;
}

export const list = (items: readonly (string | number)[]) => items.join(", ");

/** A span covering `first` through `last`. */
export const spanning = (first: Span, last: Span): Span => ({ start: first.start, end: last.end });
