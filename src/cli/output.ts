/**
 * How much the user asked to see, set once from the global options before a command runs.
 * `--quiet`: results only. Gone: the engine line, progress, notes and "wrote …" confirmations.
 * Kept: errors, diagnostics and `warning:` lines, since each points at a mistake the results hide.
 */
let quiet = false;

export function setQuiet(on: boolean): void {
  quiet = on;
}

export const isQuiet = (): boolean => quiet;

/** A line about what is happening (not a result, not a warning): on stderr unless `--quiet`. */
export function say(line: string): void {
  if (!quiet) process.stderr.write(line + "\n");
}
