/**
 * The run folder (`--out`): one run at a time, and never a fresh run over another run's files.
 *
 * A lock file names its holder (PID, host, the process's start time); a second run on the folder
 * refuses at once. A lock whose process is gone (a killed run) is taken over, with a note. While
 * the lock is held, temporaries that a killed run left are removed: no live process owns them.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { removeStaleTemporaries, writeProblem } from "../util/durable-file.js";
import { UsageError } from "../util/usage-error.js";

export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const METRICS_FILE = "metrics.jsonl";
export const LOCK_FILE = "detc.lock";
/** What a run writes; a folder holding any of them holds a run. */
const RUN_FILES = [CHECKPOINT_FILE, METRICS_FILE, "curves.svg"];

/** `fresh` refuses a folder holding a run, `resume` continues it, `overwrite` deletes its files first. */
export type RunFolderMode = "fresh" | "resume" | "overwrite";

export interface RunFolder {
  readonly dir: string;
  readonly checkpoint: string;
  readonly metrics: string;
  readonly resume: boolean;
  /** What opening it did that the user should know: a lock taken over, leftovers removed. */
  readonly notes: readonly string[];
  /** Gives the folder up; also done when the process exits. */
  release(): void;
}

interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  /** The process's start time (Linux), so that a recycled PID is not taken for the holder. */
  readonly processStart?: string;
}

export function openRunFolder(dir: string, mode: RunFolderMode): RunFolder {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot use --out ${dir}: ${code === "EEXIST" || code === "ENOTDIR" ? "it is a file, not a folder" : writeProblem(error)}`);
  }
  const notes: string[] = [];
  const release = lock(dir, notes);
  try {
    const present = RUN_FILES.filter((name) => existsSync(join(dir, name)));
    if (mode === "fresh" && present.length > 0)
      throw new UsageError(
        `${dir} holds another run (${present.join(", ")}); pass --resume to continue it, --overwrite to start over, or choose another --out`,
      );
    if (mode === "overwrite" && present.length > 0) {
      for (const name of present) rmSync(join(dir, name), { force: true });
      notes.push(`--overwrite: removed the previous run's ${present.join(", ")}`);
    }
    const leftovers = removeStaleTemporaries(dir, [...RUN_FILES, LOCK_FILE]);
    if (leftovers.length > 0) notes.push(`removed ${leftovers.join(", ")}, left by a run that was killed while writing`);
  } catch (error) {
    release();
    throw error;
  }
  return { dir, checkpoint: join(dir, CHECKPOINT_FILE), metrics: join(dir, METRICS_FILE), resume: mode === "resume", notes, release };
}

/** Takes the folder's lock (or refuses); returns its release, which also runs at process exit. */
function lock(dir: string, notes: string[]): () => void {
  const path = join(dir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), processStart: processStart(process.pid) };
  while (!createExclusively(path, JSON.stringify(me) + "\n", dir)) {
    if (!existsSync(path)) continue; // released between our attempt and now
    const holder = readHolder(path);
    if (holder === undefined) throw new UsageError(`${path} is not a lock detc wrote; if no run uses ${dir}, delete it`);
    const who = `PID ${holder.pid} on ${holder.host}, since ${holder.since}`;
    if (holder.host !== me.host)
      throw new UsageError(`${dir} is locked by a run on another machine (${who}); if that run has ended, delete ${path}`);
    if (isRunning(holder)) throw new UsageError(`${dir} is in use by another run (${who}); wait for it to end, or choose another --out`);
    // Move the stale lock aside first: of two runs taking it over at once, only one can move it.
    const aside = `${path}.stale-${process.pid}`;
    try {
      renameSync(path, aside);
    } catch {
      continue;
    }
    const moved = readHolder(aside);
    rmSync(aside, { force: true });
    if (moved?.pid !== holder.pid || moved.since !== holder.since) throw new UsageError(`${dir} was just taken by another run; choose another --out`);
    notes.push(`took over the lock of run ${who}, which is no longer running`);
  }
  const release = () => {
    process.off("exit", release);
    if (readHolder(path)?.pid === me.pid) rmSync(path, { force: true });
  };
  process.on("exit", release);
  return release;
}

/** Creates `path` with `text` unless it exists; a reader never sees it half-written (link is atomic). */
function createExclusively(path: string, text: string, dir: string): boolean {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(temporary, text);
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new UsageError(`cannot use --out ${dir}: ${writeProblem(error)}`);
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockHolder;
  } catch {
    return undefined;
  }
}

function isRunning(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const start = processStart(holder.pid);
  return holder.processStart === undefined || start === undefined || start === holder.processStart;
}

/** Field 22 of /proc/PID/stat (clock ticks after boot); undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}
