/**
 * Training as torchvision's detection reference does it: SGD with momentum and weight decay,
 * linear warm-up then multi-step decay, the four Faster R-CNN losses summed, evaluation on the
 * validation split after every epoch, and checkpoints that a kill cannot corrupt. The trainer
 * reports through callbacks; printing is the CLI's business.
 */
import { InputError } from "../util/input-error.js";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { DetectorSpec } from "../check/detector-spec.js";
import { trainingSubset } from "../data/dataset.js";
import { batches, loadExamples, stepsPerEpoch } from "../data/loader.js";
import type { ExampleOptions } from "../data/transforms.js";
import { buildFasterRCNN, type FasterRCNN } from "../detection/faster-rcnn.js";
import { initialiseWeights, type WeightsReport } from "../weights/load-weights.js";
import { CheckpointError, readCheckpoint, restoreVariables, saveCheckpoint } from "./checkpoint.js";
import type { SpecDatasets } from "./datasets.js";
import { evaluateModel, type EvaluationResult } from "./evaluate.js";
import { MetricsLog } from "./metrics-log.js";
import { SGD } from "./optimizer.js";
import { learningRate } from "./schedule.js";

export const CHECKPOINT_FILE = "checkpoint.safetensors";
export const METRICS_FILE = "metrics.jsonl";

export interface TrainOptions {
  readonly outDir: string;
  /** Stop after this many steps in all (a cap on `epochs`). */
  readonly maxSteps?: number;
  readonly resume: boolean;
  /** The spec's folder, which its `backbone … weights "FILE"` is relative to. */
  readonly specDir?: string;
  /** A torchvision Faster R-CNN state dict to start from (`--init`), over the backbone's weights. */
  readonly init?: string;
  /** Load weights files that do not fit, reporting what stays as initialised (`--allow-partial`). */
  readonly allowPartial?: boolean;
  /** How the starting weights fit, one line block per file (`formatWeightsReport`). */
  readonly onWeightsLoaded?: (report: WeightsReport) => void;
  /** Asked after every step; true saves a checkpoint and ends the run early (Ctrl-C). */
  readonly shouldStop?: () => boolean;
  readonly onStep?: (progress: StepProgress) => void;
  readonly onEvaluation?: (progress: { done: number; total: number; epoch: number }) => void;
  readonly onEvaluated?: (result: EvaluationResult & { epoch: number; step: number }) => void;
}

export interface StepProgress {
  readonly step: number;
  readonly totalSteps: number;
  readonly epoch: number;
  readonly lr: number;
  readonly loss: number;
  readonly losses: Readonly<Record<string, number>>;
  readonly imagesPerSecond: number;
}

export interface TrainResult {
  readonly steps: number;
  readonly resumedFrom: number;
  readonly checkpoint: string;
  /** Ended early by `shouldStop`. */
  readonly stopped: boolean;
  readonly evaluation?: EvaluationResult;
}

/** Training stopped on purpose with the last good checkpoint kept (a NaN loss, a bad resume). */
export class TrainingError extends InputError {}

export function specHash(spec: DetectorSpec): string {
  const { settings, dataset, ...model } = spec;
  return createHash("sha256").update(JSON.stringify({ model, rpn: settings.rpn, box: settings.box })).digest("hex").slice(0, 16);
}

function exampleOptions(spec: DetectorSpec, training: boolean): ExampleOptions {
  const flipProbability = spec.settings.train.flip as number;
  const { input } = spec;
  if (input.kind === "exact")
    return { minSize: input.height, maxSize: input.width, fixedSize: { height: input.height, width: input.width }, flipProbability, training };
  return { minSize: input.min, maxSize: input.max, flipProbability, training };
}

export async function train(spec: DetectorSpec, datasets: SpecDatasets, options: TrainOptions): Promise<TrainResult> {
  const settings = spec.settings.train;
  const batchSize = settings.batch_size as number;
  const epochs = settings.epochs as number;
  const seed = settings.seed as number;
  const trainSet = trainingSubset(datasets.train);
  const perEpoch = stepsPerEpoch(trainSet.samples.length, batchSize);
  const totalSteps = Math.min(epochs * perEpoch, options.maxSteps ?? Infinity);
  const checkpointPath = join(options.outDir, CHECKPOINT_FILE);
  const log = new MetricsLog(join(options.outDir, METRICS_FILE));
  const hash = specHash(spec);

  mkdirSync(options.outDir, { recursive: true });
  if (!options.resume && existsSync(checkpointPath))
    throw new TrainingError(`${checkpointPath} exists; pass --resume to continue that run, or choose another --out`);

  const model = buildFasterRCNN(spec, { seed });
  const sgd = new SGD(settings.momentum as number, settings.weight_decay as number);
  try {
    // A resumed run's checkpoint holds every variable, so starting weights would be overwritten.
    if (!(options.resume && existsSync(checkpointPath)))
      for (const report of initialiseWeights(model, { specDir: options.specDir ?? ".", init: options.init, allowPartial: options.allowPartial })) options.onWeightsLoaded?.(report);
    const variables = model.variables();
    const trainable = model.trainableVariables();
    const byTfName = new Map(trainable.map((v) => [v.name, v]));
    const keyOfTfName = new Map([...variables].map(([key, v]) => [v.name, key]));

    let startStep = 0;
    if (options.resume && existsSync(checkpointPath)) {
      const saved = readCheckpoint(checkpointPath);
      if (saved.state.specHash !== hash)
        throw new CheckpointError(`${checkpointPath} was written for a different model (detector \`${saved.state.detector}\`); start a new --out`);
      restoreVariables(checkpointPath, variables, saved.variables);
      for (const variable of trainable) {
        const buffer = saved.momentum.get(keyOfTfName.get(variable.name)!);
        if (buffer) sgd.buffers.set(variable.name, tf.variable(tf.tensor(buffer.data as Float32Array, buffer.shape as number[]), false));
      }
      startStep = saved.state.step;
      log.truncateAfter(startStep);
    }

    const momentumByKey = () => new Map([...sgd.buffers].map(([tfName, v]) => [keyOfTfName.get(tfName)!, v]));
    const checkpoint = (step: number) =>
      saveCheckpoint(checkpointPath, variables, momentumByKey(), {
        step,
        epoch: Math.floor(step / perEpoch),
        detector: spec.name,
        specHash: hash,
      });
    const schedule = {
      lr: settings.lr as number,
      warmupSteps: Math.min(settings.warmup_steps as number, perEpoch - 1),
      warmupFactor: settings.warmup_factor as number,
      lrSteps: settings.lr_steps as number[],
      lrGamma: settings.lr_gamma as number,
      stepsPerEpoch: perEpoch,
    };
    const checkpointEvery = settings.checkpoint_every as number;
    let evaluation: EvaluationResult | undefined;
    const evaluate = async (step: number, epoch: number) => {
      evaluation = await evaluateModel(model, datasets.val, batchSize, (done, total) => options.onEvaluation?.({ done, total, epoch }));
      log.append({ type: "eval", step, epoch, ...evaluation });
      options.onEvaluated?.({ ...evaluation, epoch, step });
    };

    let step = startStep;
    if (step < totalSteps) {
      for (const batch of batches(trainSet, { batchSize, seed, startStep, epochs })) {
        if (batch.step >= totalSteps) break;
        const started = performance.now();
        const examples = await loadExamples(batch, exampleOptions(spec, true));
        const lr = learningRate(schedule, batch.step);
        const losses = trainStep(model, sgd, byTfName, examples, lr);
        const loss = Object.values(losses).reduce((a, b) => a + b, 0);
        if (!Number.isFinite(loss)) {
          throw new TrainingError(
            `the loss became ${loss} at step ${batch.step + 1} (lr ${lr.toPrecision(3)}); stopped. ` +
              `${existsSync(checkpointPath) ? `The last good checkpoint is ${checkpointPath}` : "No checkpoint was written yet"}; ` +
              "a lower `train lr` or more `warmup_steps` usually helps",
          );
        }
        step = batch.step + 1;
        const seconds = (performance.now() - started) / 1000;
        log.append({ type: "step", step, epoch: batch.epoch, lr, loss, losses, seconds });
        options.onStep?.({ step, totalSteps, epoch: batch.epoch, lr, loss, losses, imagesPerSecond: examples.length / seconds });
        const endOfEpoch = step % perEpoch === 0;
        if (step % checkpointEvery === 0 || endOfEpoch || step === totalSteps) await checkpoint(step);
        if (endOfEpoch || step === totalSteps) await evaluate(step, Math.floor((step - 1) / perEpoch));
        if (options.shouldStop?.()) {
          if (step % checkpointEvery !== 0 && !endOfEpoch) await checkpoint(step);
          return { steps: step, resumedFrom: startStep, checkpoint: checkpointPath, stopped: true, evaluation };
        }
      }
    }
    return { steps: step, resumedFrom: startStep, checkpoint: checkpointPath, stopped: false, evaluation };
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

/** One SGD step; returns the four losses as numbers (the only host read-back of the step). */
export function trainStep(
  model: FasterRCNN,
  sgd: SGD,
  trainable: ReadonlyMap<string, tf.Variable>,
  examples: Awaited<ReturnType<typeof loadExamples>>,
  lr: number,
): Record<string, number> {
  const parts = new Map<string, tf.Scalar>();
  const { value, grads } = tf.variableGrads(() => {
    const losses = model.computeLosses(
      examples.map((e) => e.image),
      examples.map((e) => ({ boxes: e.boxes, labels: e.labels })),
    );
    for (const [name, loss] of Object.entries(losses)) parts.set(name, tf.keep(loss));
    return tf.addN([...parts.values()]) as tf.Scalar;
  }, [...trainable.values()]);
  value.dispose();
  const numbers = Object.fromEntries([...parts].map(([name, loss]) => [name, loss.dataSync()[0]!]));
  tf.dispose([...parts.values()]);
  if (Object.values(numbers).every(Number.isFinite)) sgd.step(trainable, grads, lr);
  else tf.dispose(Object.values(grads));
  return numbers;
}
