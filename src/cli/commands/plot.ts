/**
 * `detc plot RUN_DIR`: a run's loss, learning-rate and AP curves from its metrics.jsonl;
 * `detc plot FILE.det`: its training boxes' sizes against each level's anchor sizes.
 */
import { existsSync, statSync, writeFileSync } from "node:fs";
import { basename, extname, join, resolve } from "node:path";
import type { Command } from "commander";
import { curvesSvg } from "../../diagram/curves.js";
import { MetricsLog } from "../../train/metrics-log.js";
import { UsageError } from "../io.js";
import { say } from "../output.js";
import { loadSpec } from "../spec.js";

/** The curves of the run in `runDir`, as SVG or (by `output`'s extension) PNG, written to `output`. */
export async function writeCurves(runDir: string, output: string): Promise<void> {
  const log = join(runDir, "metrics.jsonl");
  if (!existsSync(log)) throw new UsageError(`${runDir} has no metrics.jsonl: is it a \`detc run\` output folder?`);
  await writeSvg(curvesSvg(new MetricsLog(log).read(), `run ${basename(resolve(runDir))}`), output);
}

/** The box sizes of the spec's training data against its anchors (`detc check --data`'s numbers). */
async function writeAnchorSizes(specPath: string, output: string, detectorName?: string): Promise<void> {
  const { spec, analysis, dir } = loadSpec(specPath, detectorName);
  const { loadSpecDatasets } = await import("../../train/datasets.js");
  const { analyzeAnchorData, trainingImages } = await import("../../anchors/analyze.js");
  const { anchorSizesSvg } = await import("../../diagram/anchor-sizes.js");
  const train = (await loadSpecDatasets(spec, dir)).train;
  const report = analyzeAnchorData(analysis, trainingImages(train), { source: `${train.kind} ${train.split}` });
  await writeSvg(anchorSizesSvg(report, `${spec.name}: box sizes against the anchors`), output);
}

async function writeSvg(svg: string, output: string): Promise<void> {
  if (extname(output).toLowerCase() === ".png") {
    const { svgToPng } = await import("../../diagram/png.js");
    writeFileSync(output, await svgToPng(svg));
  } else writeFileSync(output, svg);
}

export function registerPlot(program: Command): void {
  program
    .command("plot")
    .summary("plot a run's losses, learning rate and AP, or a spec's box sizes against its anchors")
    .description(
      "Draw the curves of a `detc run` output folder from its metrics.jsonl: each loss part and the " +
        "learning rate per step, COCO AP and AP50 per evaluation. `detc run` writes curves.svg itself. " +
        "Given a .det spec instead, draw its training boxes' sizes (after its resize) against each " +
        "level's anchor sizes, and the anchors fitted to them (`detc check --data`).",
    )
    .argument("<run-dir-or-spec>", "a `detc run` output folder, or a .det spec")
    .option("-o, --output <path>", "where to write it (.svg or .png; default curves.svg, or anchors.svg for a spec)")
    .option("--detector <name>", "which detector of the spec (when it has several)")
    .addHelpText("after", "\nExamples:\n  $ detc plot runs/quickstart\n  $ detc plot runs/exp1 -o exp1.png\n  $ detc plot examples/quickstart.det -o anchors.png")
    .action(async (target: string, options: { output?: string; detector?: string }) => {
      const isRun = existsSync(target) && statSync(target).isDirectory();
      const output = options.output ?? (isRun ? "curves.svg" : "anchors.svg");
      const extension = extname(output).toLowerCase();
      if (extension !== ".svg" && extension !== ".png") throw new UsageError(`cannot plot to ${output}: use .svg or .png`);
      if (isRun) await writeCurves(target, output);
      else await writeAnchorSizes(target, output, options.detector);
      say(`wrote ${output}`);
    });
}
