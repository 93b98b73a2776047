/**
 * Files that are either the old version or the new one, never a mix, as Detectron2's checkpointer
 * and PyTorch Lightning write theirs: the bytes go to a temporary file beside the target (the same
 * folder, so the rename cannot cross file systems), every write's length is checked, the file is
 * synced, renamed over the target, and the folder synced so the rename itself survives a power
 * cut. On any failure the temporary is removed and the target is left as it was.
 */
import { closeSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { InputError } from "./input-error.js";

/** A write that failed (disk full, file too large, I/O error); the message names the file. */
export class WriteError extends InputError {}

const WRITE_PROBLEMS: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on the disk",
  EDQUOT: "the disk quota is used up",
  EFBIG: "the file would exceed the size limit (see `ulimit -f`)",
  EIO: "an input/output error (is the disk failing?)",
  EROFS: "the file system is read-only",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "the folder no longer exists",
};

/** What went wrong with a write, in words, with the system's code. */
export function writeProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  return code && WRITE_PROBLEMS[code] ? `${WRITE_PROBLEMS[code]} (${code})` : String((error as Error).message ?? error);
}

const temporaryPath = (path: string) => `${path}.tmp-${process.pid}`;

export function writeFileAtomically(path: string, bytes: Uint8Array): void {
  const temporary = temporaryPath(path);
  let fd: number | undefined;
  try {
    fd = openSync(temporary, "w", 0o644);
    for (let offset = 0; offset < bytes.length; ) {
      const written = writeSync(fd, bytes, offset, bytes.length - offset);
      if (written <= 0) throw Object.assign(new Error(`wrote ${offset} of ${bytes.length} bytes`), { code: "EIO" });
      offset += written;
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(temporary, path);
  } catch (error) {
    if (fd !== undefined) closeSync(fd);
    rmSync(temporary, { force: true });
    throw new WriteError(`cannot write ${path}: ${writeProblem(error)}; ${basename(path)} was left as it was`);
  }
  syncFolder(dirname(path));
}

/** Makes a rename or a new file in `dir` durable; file systems that cannot sync a folder are let be. */
export function syncFolder(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EINVAL" && code !== "EISDIR" && code !== "EPERM") throw new WriteError(`cannot sync folder ${dir}: ${writeProblem(error)}`);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Removes the temporaries a killed process left beside `names` in `dir`; returns their names. */
export function removeStaleTemporaries(dir: string, names: readonly string[]): string[] {
  const stale = readdirSync(dir).filter((entry) => names.some((name) => new RegExp(`^${escapeRegExp(name)}\\.tmp-\\d+$`).test(entry)));
  for (const entry of stale) rmSync(join(dir, entry), { force: true });
  return stale;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
