/** The run's metrics log: one JSON object per line, appended and flushed as it happens. */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";

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
    appendFileSync(this.path, JSON.stringify(record) + "\n");
  }

  /** Records so far; a line cut short by a kill is ignored. */
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

  /** On resume: drop records past the checkpoint's step, which the resumed run will redo. */
  truncateAfter(step: number): void {
    const kept = this.read().filter((r) => r.step <= step);
    const temporary = `${this.path}.tmp-${process.pid}`;
    writeFileSync(temporary, kept.map((r) => JSON.stringify(r) + "\n").join(""));
    renameSync(temporary, this.path);
  }
}
