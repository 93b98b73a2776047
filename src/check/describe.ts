/** Short phrases rules share when they talk about feature maps and numbers. */
import { featureMap, type NodeType } from "../zoo/infer.js";
import type { Span } from "../language/ast.js";

export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** `512 ch, stride 16` */
export function describeType(type: NodeType | undefined): string {
  if (!type) return "?";
  const map = featureMap(type);
  if (!map) return `shape [${type.shape.join(", ")}]`;
  return `${map.channels} ch, stride ${type.stride}`;
}

export const list = (items: readonly (string | number)[]) => items.join(", ");

/** The first `max` items and how many more: for lists a spec can make as long as it likes. */
export function listSome(items: readonly (string | number)[], max = 12): string {
  if (items.length <= max) return list(items);
  return `${list(items.slice(0, max))}, … (${(items.length - max).toLocaleString("en-US")} more)`;
}

/** A span covering `first` through `last`. */
export const spanning = (first: Span, last: Span): Span => ({ start: first.start, end: last.end });
