/** `detc run FILE`: build the detector, train it on the spec's dataset, evaluate, checkpoint. */
import { existsSync } from "node:fs";
import { constants } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { numberOption, requireFile, UsageError, writeJson } from "../io.js";
import { formatDuration, ProgressLine, progressBar } from "../progress.js";
import { renderDiagnostic } from "../render-diagnostics.js";
import { loadSpec, type LoadedSpec } from "../spec.js";
import { writeCurves } from "./plot.js";
import { colors } from "../style.js";
import { ALLOW_PARTIAL_OPTION } from "../weights-options.js";
import { say } from "../output.js";
import type { SpecDatasets } from "../../train/datasets.js";
import type { RunFolder } from "../../train/run-folder.js";
import type { TrainResult } from "../../train/trainer.js";

interface RunOptions {
  out?: string;
  maxSteps?: string;
  resume?: boolean;
  overwrite?: boolean;
  init?: string;
  allowPartial?: boolean;
  json?: boolean;
  backend: string;
  detector?: string;
}

/** What a shell reports for a process ended by `signal`: 130 for SIGINT, 143 for SIGTERM. */
const signalExitCode = (signal: NodeJS.Signals) => 128 + constants.signals[signal];

export function registerRun(program: Command): void {
  program
    .command("run")
    .summary("train the detector on its dataset, evaluate it, save checkpoints")
    .description(
      "Check the spec, build its Faster R-CNN in TensorFlow.js, and train it (SGD with momentum, warm-up, " +
        "multi-step decay) on the spec's dataset (the built-in synthetic set when it names none), " +
        "evaluating COCO mAP on the validation split after every epoch. Writes to --out: " +
        "checkpoint.safetensors (atomically, every `train checkpoint_every` steps and at each epoch's " +
        "end), metrics.jsonl (one line per step and per evaluation) and curves.svg (`detc plot`). " +
        "Ctrl-C (or SIGTERM) saves a checkpoint of the last completed step and stops (exit 130, 143); " +
        "a second Ctrl-C quits at once, leaving the last checkpoint as it was. --resume continues exactly " +
        "from the last checkpoint. One run at a time uses a folder (a lock file holds it).",
    )
    .argument("<file>", "a .det spec")
    .option("--out <dir>", "output folder (default: runs/<detector>)")
    .option("--max-steps <n>", "stop after this many steps in all")
    .option("--resume", "continue the run in --out from its checkpoint")
    .option("--overwrite", "start over in an --out that holds an earlier run (deletes its checkpoint and metrics)")
    .option("--init <file>", "start from a torchvision Faster R-CNN state dict (.pth or .safetensors)")
    .option(...ALLOW_PARTIAL_OPTION)
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .option("--json", "print the final result as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc run examples/quickstart.det\n  $ detc run my.det --out runs/exp1 --max-steps 2000\n  $ detc run my.det --out runs/exp1 --resume",
    )
    .action(runCommand);
}

/** The action: the folder stays locked, and Ctrl-C and SIGTERM caught, until the run ends however it ends. */
async function runCommand(file: string, options: RunOptions): Promise<void> {
  const loaded = loadSpec(file, options.detector);
  const maxSteps = checkRunOptions(options);
  const { openRunFolder } = await import("../../train/run-folder.js");
  const folder = openRunFolder(options.out ?? join("runs", loaded.spec.name), options.resume ? "resume" : options.overwrite ? "overwrite" : "fresh");

  const progress = new ProgressLine(process.stderr);
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop.signal.aborted) process.exit(signalExitCode(signal));
    stop.abort(signal);
    progress.end();
    process.stderr.write(`${signal}: stopping after this step with a checkpoint (Ctrl-C again quits at once, leaving the last checkpoint as it was)…\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    for (const note of folder.notes) say(`note: ${note}`);
    await startEngine(options.backend, false);
    const { loadSpecDatasets } = await import("../../train/datasets.js");
    const datasets = await loadSpecDatasets(loaded.spec, loaded.dir);
    await reportDataProblems(datasets, loaded, file);
    const result = await trainWithProgress(loaded, datasets, { folder, maxSteps, options, progress, signal: stop.signal });
    progress.end();
    if (existsSync(folder.metrics)) await writeCurvesOrWarn(folder.dir);
    printSummary(loaded.spec, folder, result, options.json);
    if (result.stopped) process.exitCode = signalExitCode(stop.signal.reason as NodeJS.Signals);
  } finally {
    progress.end();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    folder.release();
  }
}

/** The usage errors no spec or data can cure; returns `--max-steps` as a number. */
function checkRunOptions(options: RunOptions): number | undefined {
  const maxSteps =
    options.maxSteps === undefined
      ? undefined
      : numberOption(options.maxSteps, "--max-steps", "a positive whole number", (n) => Number.isInteger(n) && n >= 1);
  if (options.resume && options.overwrite) throw new UsageError("--resume and --overwrite exclude each other");
  if (options.init !== undefined) requireFile(options.init, "--init");
  return maxSteps;
}

/** The data's warnings, what it holds, and the anchors against its boxes: reported, never a refusal. */
async function reportDataProblems(datasets: SpecDatasets, { analysis, source }: LoadedSpec, file: string): Promise<void> {
  const { checkTrainingData, exifNotices } = await import("../../train/datasets.js");
  const { summarizeWarnings } = await import("../../data/dataset.js");
  const warnings = [...datasets.train.warnings, ...(datasets.val === datasets.train ? [] : datasets.val.warnings)];
  for (const warning of summarizeWarnings(warnings)) process.stderr.write(`warning: ${warning}\n`);
  say(checkTrainingData(datasets));
  for (const notice of exifNotices(datasets.train, datasets.val)) say(`note: ${notice}`);
  // The anchors against the training boxes (`detc check --data`): warnings only; the fitted line
  // (a note) is for `check --data`, where its user asked for it.
  const { checkDetectorData } = await import("../../anchors/analyze.js");
  const anchorWarnings = checkDetectorData(analysis, datasets.train).diagnostics.filter((d) => d.severity !== "info");
  for (const d of anchorWarnings) process.stderr.write(renderDiagnostic(d, file, source, colors(process.stderr)) + "\n\n");
}

interface TrainingRun {
  readonly folder: RunFolder;
  readonly maxSteps: number | undefined;
  readonly options: RunOptions;
  readonly progress: ProgressLine;
  readonly signal: AbortSignal;
}

/** Trains, drawing each step and evaluation on the progress line and printing each epoch's scores. */
async function trainWithProgress({ spec, dir }: LoadedSpec, datasets: SpecDatasets, run: TrainingRun): Promise<TrainResult> {
  const { train } = await import("../../train/trainer.js");
  const { formatWeightsReport } = await import("../../weights/load-weights.js");
  const { progress, options } = run;
  const c = colors(process.stderr);
  const started = performance.now();
  let firstStep: number | undefined;
  return train(spec, datasets, {
    folder: run.folder,
    maxSteps: run.maxSteps,
    specDir: dir,
    init: options.init,
    allowPartial: options.allowPartial,
    signal: run.signal,
    onWeightsLoaded: (report) => say(formatWeightsReport(report)),
    onStep: (p) => {
      firstStep ??= p.step - 1;
      const eta = ((performance.now() - started) / 1000 / (p.step - firstStep)) * (p.totalSteps - p.step);
      const parts = [p.losses.loss_objectness, p.losses.loss_rpn_box_reg, p.losses.loss_classifier, p.losses.loss_box_reg].map((l) => l!.toFixed(3));
      progress.update(
        `train ${progressBar(p.step, p.totalSteps)} ${p.step}/${p.totalSteps} · epoch ${p.epoch + 1} · loss ${p.loss.toFixed(3)} ` +
          `(obj ${parts[0]} rpn ${parts[1]} cls ${parts[2]} box ${parts[3]}) · lr ${p.lr.toPrecision(2)} · ${p.imagesPerSecond.toFixed(1)} img/s · eta ${formatDuration(eta)}`,
        p.step === firstStep + 1 || p.step === p.totalSteps,
      );
    },
    onEvaluation: (e) => progress.update(`eval  ${progressBar(e.done, e.total)} ${e.done}/${e.total} images · epoch ${e.epoch + 1}`, e.done === e.total),
    onEvaluated: (e) => {
      progress.end();
      say(`${c.bold(`epoch ${e.epoch + 1}`)} · step ${e.step} · AP ${e.AP.toFixed(3)} · AP50 ${c.bold(e.AP50.toFixed(3))} · AP75 ${e.AP75.toFixed(3)} · VOC AP50 ${e.VOC_AP50.toFixed(3)}`);
    },
  });
}

function printSummary(spec: LoadedSpec["spec"], folder: RunFolder, result: TrainResult, json: boolean | undefined): void {
  // The process's peak resident memory (getrusage's max RSS, in KiB): what the run needed at most.
  const peakMemoryBytes = process.resourceUsage().maxRSS * 1024;
  const summary = {
    detector: spec.name,
    outDir: folder.dir,
    steps: result.steps,
    resumedFrom: result.resumedFrom,
    stopped: result.stopped,
    checkpoint: result.checkpoint,
    checkpointStep: result.checkpointStep ?? null,
    evaluation: result.evaluation ?? null,
    peakMemoryBytes,
  };
  if (json) writeJson(summary);
  else
    process.stdout.write(
      `${result.stopped ? "stopped" : "done"}: ${result.steps} steps${result.resumedFrom ? ` (resumed at ${result.resumedFrom})` : ""} · ` +
        (result.checkpointStep === undefined ? "no checkpoint" : `checkpoint ${result.checkpoint} (step ${result.checkpointStep})`) +
        ` · metrics ${folder.metrics} · peak memory ${(peakMemoryBytes / 2 ** 30).toFixed(2)} GiB\n` +
        (result.evaluation ? `AP ${result.evaluation.AP.toFixed(3)} · AP50 ${result.evaluation.AP50.toFixed(3)} on ${spec.dataset.format} val\n` : ""),
    );
}

/** The curves are a convenience: failing to draw them does not fail a finished run. */
async function writeCurvesOrWarn(runDir: string): Promise<void> {
  const { writeProblem } = await import("../../util/durable-file.js");
  try {
    await writeCurves(runDir, join(runDir, "curves.svg"));
  } catch (error) {
    process.stderr.write(`warning: could not write ${join(runDir, "curves.svg")}: ${writeProblem(error)}\n`);
  }
}
