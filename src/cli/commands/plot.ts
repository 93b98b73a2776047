/** `detc plot RUN_DIR`: a run's loss, learning-rate and AP curves from its metrics.jsonl. */
import { existsSync, writeFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import { curvesSvg } from "../../diagram/curves.js";
import { MetricsLog } from "../../train/metrics-log.js";
import { UsageError } from "../io.js";
import { say } from "../output.js";

/** The curves of the run in `runDir`, as SVG or (by `output`'s extension) PNG, written to `output`. */
export async function writeCurves(runDir: string, output: string): Promise<void> {
  const log = join(runDir, "metrics.jsonl");
  if (!existsSync(log)) throw new UsageError(`${runDir} has no metrics.jsonl: is it a \`detc run\` output folder?`);
  const svg = curvesSvg(new MetricsLog(log).read(), `run ${basename(resolve(runDir))}`);
  if (extname(output).toLowerCase() === ".png") {
    const { svgToPng } = await import("../../diagram/png.js");
    writeFileSync(output, await svgToPng(svg));
  } else writeFileSync(output, svg);
}

export function registerPlot(program: Command): void {
  program
    .command("plot")
    .summary("plot a run's losses, learning rate and AP from its metrics log")
    .description(
      "Draw the curves of a `detc run` output folder from its metrics.jsonl: each loss part and the " +
        "learning rate per step, COCO AP and AP50 per evaluation. `detc run` writes curves.svg itself.",
    )
    .argument("<run-dir>", "a `detc run` output folder")
    .option("-o, --output <path>", "where to write it (.svg or .png)", "curves.svg")
    .addHelpText("after", "\nExamples:\n  $ detc plot runs/quickstart\n  $ detc plot runs/exp1 -o exp1.png")
    .action(async (runDir: string, options: { output: string }) => {
      const extension = extname(options.output).toLowerCase();
      if (extension !== ".svg" && extension !== ".png") throw new UsageError(`cannot plot to ${options.output}: use .svg or .png`);
      await writeCurves(runDir, options.output);
      say(`wrote ${options.output}`);
    });
}
