/** `detc run FILE`: build the detector, train it on the spec's dataset, evaluate, checkpoint. */
import { join } from "node:path";
import { SingleBar } from "cli-progress";
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { UsageError, writeJson } from "../io.js";
import { loadSpec } from "../spec.js";
import { writeCurves } from "./plot.js";
import { colors } from "../style.js";
import { ALLOW_PARTIAL_OPTION } from "../weights-options.js";

interface RunOptions {
  out?: string;
  maxSteps?: string;
  resume?: boolean;
  init?: string;
  allowPartial?: boolean;
  json?: boolean;
  backend: string;
  detector?: string;
}

const positiveInteger = (text: string, option: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${option} takes a positive whole number, not "${text}"`);
  return n;
};

export function registerRun(program: Command): void {
  program
    .command("run")
    .summary("train the detector on its dataset, evaluate it, save checkpoints")
    .description(
      "Check the spec, build its Faster R-CNN in TensorFlow.js, and train it (SGD with momentum, warm-up, " +
        "multi-step decay) on the spec's dataset (the built-in synthetic set when it names none), " +
        "evaluating COCO mAP on the validation split after every epoch. Writes to --out: " +
        "checkpoint.safetensors (atomically, every `train checkpoint_every` steps and at each epoch's " +
        "end), metrics.jsonl (one line per step and per evaluation) and curves.svg (`detc plot`). Ctrl-C saves a checkpoint and stops; " +
        "--resume continues from the last checkpoint.",
    )
    .argument("<file>", "a .det spec")
    .option("--out <dir>", "output folder (default: runs/<detector>)")
    .option("--max-steps <n>", "stop after this many steps in all")
    .option("--resume", "continue from the checkpoint in --out")
    .option("--init <file>", "start from a torchvision Faster R-CNN state dict (.pth or .safetensors)")
    .option(...ALLOW_PARTIAL_OPTION)
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .option("--json", "print the final result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc run examples/quickstart.det\n  $ detc run my.det --out runs/exp1 --max-steps 2000\n  $ detc run my.det --out runs/exp1 --resume",
    )
    .action(async (file: string, options: RunOptions) => {
      const { spec, dir } = loadSpec(file, options.detector);
      const maxSteps = options.maxSteps === undefined ? undefined : positiveInteger(options.maxSteps, "--max-steps");
      const outDir = options.out ?? join("runs", spec.name);
      await startEngine(options.backend, false);
      const { loadSpecDatasets } = await import("../../train/datasets.js");
      const { train } = await import("../../train/trainer.js");
      const { formatWeightsReport } = await import("../../weights/load-weights.js");
      const datasets = await loadSpecDatasets(spec, dir);
      for (const warning of [...datasets.train.warnings, ...(datasets.val === datasets.train ? [] : datasets.val.warnings)])
        process.stderr.write(`warning: ${warning.file}: ${warning.record}: ${warning.message}\n`);

      const c = colors(process.stderr);
      const interactive = process.stderr.isTTY === true;
      const bar = new SingleBar({
        format: `train {bar} {value}/{total} · epoch {epoch} · loss {loss} (obj {obj} rpn {rpn} cls {cls} box {box}) · lr {lr} · {speed} img/s · eta {eta_formatted}`,
        barsize: 24,
        hideCursor: true,
        noTTYOutput: !interactive,
        notTTYSchedule: 10_000,
        stream: process.stderr,
      });
      let stopRequested = false;
      const stop = () => {
        if (stopRequested) process.exit(130);
        stopRequested = true;
        process.stderr.write("\nstopping after this step (Ctrl-C again to quit without saving)…\n");
      };
      process.on("SIGINT", stop);
      let started = false;
      const result = await train(spec, datasets, {
        outDir,
        maxSteps,
        resume: options.resume === true,
        specDir: dir,
        init: options.init,
        allowPartial: options.allowPartial,
        onWeightsLoaded: (report) => process.stderr.write(formatWeightsReport(report) + "\n"),
        shouldStop: () => stopRequested,
        onStep: (p) => {
          const fields = {
            epoch: p.epoch + 1,
            loss: p.loss.toFixed(3),
            obj: p.losses.loss_objectness!.toFixed(3),
            rpn: p.losses.loss_rpn_box_reg!.toFixed(3),
            cls: p.losses.loss_classifier!.toFixed(3),
            box: p.losses.loss_box_reg!.toFixed(3),
            lr: p.lr.toPrecision(2),
            speed: p.imagesPerSecond.toFixed(1),
          };
          if (!started) {
            bar.start(p.totalSteps, p.step - 1, fields);
            started = true;
          }
          bar.update(p.step, fields);
        },
        onEvaluated: (e) => {
          bar.stop();
          started = false;
          process.stderr.write(
            `${c.bold(`epoch ${e.epoch + 1}`)} · step ${e.step} · AP ${e.AP.toFixed(3)} · AP50 ${c.bold(e.AP50.toFixed(3))} · AP75 ${e.AP75.toFixed(3)} · VOC AP50 ${e.VOC_AP50.toFixed(3)}\n`,
          );
        },
      });
      if (started) bar.stop();
      process.off("SIGINT", stop);
      await writeCurves(outDir, join(outDir, "curves.svg"));
      const summary = { detector: spec.name, outDir, steps: result.steps, resumedFrom: result.resumedFrom, checkpoint: result.checkpoint, evaluation: result.evaluation ?? null };
      if (options.json) writeJson(summary);
      else
        process.stdout.write(
          `${result.stopped ? "stopped" : "done"}: ${result.steps} steps${result.resumedFrom ? ` (resumed at ${result.resumedFrom})` : ""} · checkpoint ${result.checkpoint} · metrics ${join(outDir, "metrics.jsonl")}\n` +
            (result.evaluation ? `AP ${result.evaluation.AP.toFixed(3)} · AP50 ${result.evaluation.AP50.toFixed(3)} on ${spec.dataset.format} val\n` : ""),
        );
    });
}
