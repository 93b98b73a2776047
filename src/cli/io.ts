/** The CLI's edges: reading inputs and failing with a message instead of a stack trace. */
import { readFileSync } from "node:fs";

/** A problem with how detc was invoked or with its inputs (exit code 2). */
export class UsageError extends Error {}

export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    throw cannotRead(path, error);
  }
}

/** The error for a file that could not be opened or read, naming it and the reason. */
export function cannotRead(path: string, error: unknown): UsageError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code === "EACCES" ? "permission denied" : String(error);
  return new UsageError(`cannot read ${path}: ${reason}`);
}

export function writeJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}
