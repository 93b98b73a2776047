/** The CLI's edges: reading inputs and failing with a message instead of a stack trace. */
import { readFileSync } from "node:fs";

/** A problem with how detc was invoked or with its inputs (exit code 2). */
export class UsageError extends Error {}

/** `-` as a file is standard input, as editors' format-on-save and shell pipelines pass it. */
export const STDIN = "-";

/** How messages name a path: standard input as `<stdin>`. */
export const sourceName = (path: string) => (path === STDIN ? "<stdin>" : path);

export function readText(path: string): string {
  try {
    return readFileSync(path === STDIN ? 0 : path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String(error);
    throw new UsageError(`cannot read ${sourceName(path)}: ${reason}`);
  }
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
