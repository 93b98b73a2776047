/**
 * The run's metrics log: one JSON object per line, appended as it happens. The checkpoint is the
 * run's truth; on resume the log is cut back to the checkpoint's step, so no step is ever logged twice.
 */
import { appendFileSync, closeSync, existsSync, fsyncSync, openSync, readFileSync } from "node:fs";
import { WriteError, writeFileAtomically, writeProblem } from "../util/durable-file.js";

export type MetricsRecord =
  | {
      readonly type: "step";
      readonly step: number;
      readonly epoch: number;
      readonly lr: number;
      readonly loss: number;
      readonly losses: Readonly<Record<string, number>>;
      readonly seconds: number;
    }
  | { readonly type: "eval"; readonly step: number; readonly epoch: number; readonly [metric: string]: number | string };

export class MetricsLog {
  constructor(readonly path: string) {}

  append(record: MetricsRecord): void {
    try {
      appendFileSync(this.path, JSON.stringify(record) + "\n");
    } catch (error) {
      throw new WriteError(`cannot append to ${this.path}: ${writeProblem(error)}`);
    }
  }

  /** Makes the lines so far durable: a checkpoint written next must never be ahead of its log. */
  sync(): void {
    if (!existsSync(this.path)) return;
    const fd = openSync(this.path, "r+");
    try {
      fsyncSync(fd);
    } catch (error) {
      throw new WriteError(`cannot sync ${this.path}: ${writeProblem(error)}`);
    } finally {
      closeSync(fd);
    }
  }

  /** Records so far; a last line cut short by a kill is ignored. */
  read(): MetricsRecord[] {
    if (!existsSync(this.path)) return [];
    return readFileSync(this.path, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .flatMap((line) => {
        try {
          return [JSON.parse(line) as MetricsRecord];
        } catch {
          return [];
        }
      });
  }

  /** On resume: keeps the records up to the checkpoint's step (the resumed run redoes the rest) and drops a torn line. */
  truncateAfter(step: number): void {
    if (!existsSync(this.path)) return;
    const kept = this.read().filter((r) => r.step <= step);
    writeFileAtomically(this.path, Buffer.from(kept.map((r) => JSON.stringify(r) + "\n").join("")));
  }
}
