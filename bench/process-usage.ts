/**
 * Wall time, CPU time and peak memory of one fresh process, as GNU time (`/usr/bin/time -v`)
 * reports them: the numbers a user of the command sees, measured the same way for every program.
 */
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { existsSync } from "node:fs";

export const GNU_TIME = "/usr/bin/time";

export const hasGnuTime = (): boolean => existsSync(GNU_TIME);

export interface ProcessUsage {
  readonly seconds: number;
  /** User + system CPU seconds: says more than wall time on a busy machine. */
  readonly cpu: number;
  readonly maxRssKb: number;
  readonly exit: number;
  readonly stdout: string;
  /** The process's own stderr, without GNU time's report. */
  readonly stderr: string;
}

export function processUsage(command: string, args: readonly string[], options: SpawnSyncOptions = {}): ProcessUsage {
  const result = spawnSync(GNU_TIME, ["-v", command, ...args], { encoding: "utf8", maxBuffer: 1 << 30, ...options });
  const stdout = String(result.stdout);
  const stderr = String(result.stderr);
  const field = (name: string) => stderr.match(new RegExp(`${name}: (.*)`))?.[1] ?? "";
  const [minutes = "0", seconds = "0"] = field("Elapsed \\(wall clock\\) time \\(h:mm:ss or m:ss\\)").split(":").slice(-2);
  return {
    seconds: Number(minutes) * 60 + Number(seconds),
    cpu: Number(field("User time \\(seconds\\)")) + Number(field("System time \\(seconds\\)")),
    maxRssKb: Number(field("Maximum resident set size \\(kbytes\\)")),
    exit: result.status ?? -1,
    stdout,
    // GNU time appends its report to stderr.
    stderr: stderr.split("\tCommand being timed")[0] ?? "",
  };
}
