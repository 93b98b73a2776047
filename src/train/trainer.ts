/**
 * Training as torchvision's detection reference does it: SGD with momentum and weight decay,
 * linear warm-up then multi-step decay, the four Faster R-CNN losses summed, evaluation on the
 * validation split after every epoch, and checkpoints that neither a kill nor a full disk can
 * corrupt. The trainer reports through callbacks; printing is the CLI's business.
 *
 * A checkpoint is only ever written of weights known to be good: one that falls due after step N
 * is written during step N + 1, once that step's loss has come out finite and before its update is
 * applied. A diverging run therefore stops with its last checkpoint one that resumes cleanly.
 */
import { InputError } from "../util/input-error.js";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import type { DetectorSpec } from "../check/detector-spec.js";
import { trainingSubset } from "../data/dataset.js";
import { batches, loadExamples, stepsPerEpoch } from "../data/loader.js";
import type { ExampleOptions } from "../data/transforms.js";
import { buildFasterRCNN, type FasterRCNN } from "../detection/faster-rcnn.js";
import { randomFromState } from "../util/random.js";
import { initialiseWeights, type WeightsReport } from "../weights/load-weights.js";
import { readCheckpoint, saveCheckpoint } from "./checkpoint.js";
import { CheckpointError, restoreVariables } from "./restore-variables.js";
import type { SpecDatasets } from "./datasets.js";
import { evaluateModel, type EvaluationResult } from "./evaluate.js";
import { variableGrads } from "./gradients.js";
import { MetricsLog } from "./metrics-log.js";
import { SGD } from "./optimizer.js";
import type { RunFolder } from "./run-folder.js";
import { learningRate, scheduleOf } from "./schedule.js";

export interface TrainOptions {
  /** The opened (locked) output folder; with `resume`, the run continues from its checkpoint. */
  readonly folder: RunFolder;
  /** Stop after this many steps in all (a cap on `epochs`). */
  readonly maxSteps?: number;
  /** The spec's folder, which its `backbone … weights "FILE"` is relative to. */
  readonly specDir?: string;
  /** A torchvision Faster R-CNN state dict to start from (`--init`), over the backbone's weights. */
  readonly init?: string;
  /** Load weights files that do not fit, reporting what stays as initialised (`--allow-partial`). */
  readonly allowPartial?: boolean;
  /** How the starting weights fit, one line block per file (`formatWeightsReport`). */
  readonly onWeightsLoaded?: (report: WeightsReport) => void;
  /**
   * Aborted (Ctrl-C, SIGTERM): the step or evaluation under way is abandoned, the last completed
   * step is checkpointed, and `train` returns with `stopped`.
   */
  readonly signal?: AbortSignal;
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
  /** The step the checkpoint on disk holds, if one was written. */
  readonly checkpointStep?: number;
  /** Ended early by `signal`. */
  readonly stopped: boolean;
  readonly evaluation?: EvaluationResult;
}

/** Training could not go on (a non-finite loss, bad data met at a step, a failed write); the last good checkpoint is kept. */
export class TrainingError extends InputError {}

export function specHash(spec: DetectorSpec): string {
  const { settings, dataset, ...model } = spec;
  return createHash("sha256").update(JSON.stringify({ model, rpn: settings.rpn, box: settings.box })).digest("hex").slice(0, 16);
}

function exampleOptions(spec: DetectorSpec, training: boolean): ExampleOptions {
  const flipProbability = spec.settings.train.flip;
  const { input } = spec;
  if (input.kind === "exact")
    return { minSize: input.height, maxSize: input.width, fixedSize: { height: input.height, width: input.width }, flipProbability, training };
  return { minSize: input.min, maxSize: input.max, flipProbability, training };
}

export async function train(spec: DetectorSpec, datasets: SpecDatasets, options: TrainOptions): Promise<TrainResult> {
  const { folder, signal } = options;
  const settings = spec.settings.train;
  const batchSize = settings.batch_size;
  const epochs = settings.epochs;
  const seed = settings.seed;
  const trainSet = trainingSubset(datasets.train);
  const perEpoch = stepsPerEpoch(trainSet.samples.length, batchSize);
  const totalSteps = Math.min(epochs * perEpoch, options.maxSteps ?? Infinity);
  const log = new MetricsLog(folder.metrics);
  const hash = specHash(spec);
  const resuming = folder.resume && existsSync(folder.checkpoint);

  const samplerRandom = randomFromState(seed);
  const model = buildFasterRCNN(spec, { seed, random: samplerRandom });
  const sgd = new SGD(settings.momentum, settings.weight_decay);
  let step = 0;
  let savedStep: number | undefined;
  let activity = "starting";
  const lastCheckpoint = () =>
    savedStep === undefined ? "no checkpoint was written yet" : `the last checkpoint, ${folder.checkpoint}, holds step ${savedStep}`;
  try {
    // A resumed run's checkpoint holds every variable, so starting weights would be overwritten.
    if (!resuming)
      for (const report of initialiseWeights(model, { specDir: options.specDir ?? ".", init: options.init, allowPartial: options.allowPartial })) options.onWeightsLoaded?.(report);
    const variables = model.variables();
    const trainable = model.trainableVariables();
    const byTfName = new Map(trainable.map((v) => [v.name, v]));
    const keyOfTfName = new Map([...variables].map(([key, v]) => [v.name, key]));

    if (resuming) {
      const saved = readCheckpoint(folder.checkpoint);
      if (saved.state.specHash !== hash)
        throw new CheckpointError(`${folder.checkpoint} was written for a different model (detector \`${saved.state.detector}\`); start a new --out`);
      restoreVariables(folder.checkpoint, variables, saved.variables);
      for (const variable of trainable) {
        const buffer = saved.momentum.get(keyOfTfName.get(variable.name)!);
        if (buffer) sgd.buffers.set(variable.name, tf.variable(tf.tensor(buffer.data as Float32Array, buffer.shape as number[]), false));
      }
      step = savedStep = saved.state.step;
      if (saved.state.samplerState !== undefined) samplerRandom.state = saved.state.samplerState;
    }
    if (folder.resume) log.truncateAfter(step);
    const startStep = step;

    const momentumByKey = () => new Map([...sgd.buffers].map(([tfName, v]) => [keyOfTfName.get(tfName)!, v]));
    const checkpoint = async (samplerState: number) => {
      log.sync();
      await saveCheckpoint(folder.checkpoint, variables, momentumByKey(), {
        step,
        epoch: Math.floor(step / perEpoch),
        detector: spec.name,
        specHash: hash,
        samplerState,
      });
      savedStep = step;
    };
    const schedule = scheduleOf(settings, perEpoch);
    const diverged = (what: string, atStep: number, lr: number) =>
      new TrainingError(
        `${what} at step ${atStep} (lr ${lr.toPrecision(3)}); stopped before applying it, and ${lastCheckpoint()}; ` +
          "a lower `train lr` or more `warmup_steps` usually helps",
      );
    // At the end of a run there is no next step to prove the weights good; finite is the least they must be.
    const finalCheckpoint = async () => {
      if (step === (savedStep ?? 0)) return;
      if (!allFinite(variables)) throw diverged("the weights became NaN or infinite", step, learningRate(schedule, step - 1));
      await checkpoint(samplerRandom.state);
    };

    const checkpointEvery = settings.checkpoint_every;
    const evaluationDue = (at: number) => at % perEpoch === 0 || at === totalSteps;
    let evaluation: EvaluationResult | undefined;
    /** False when stopped by `signal` before it finished. */
    const evaluate = async (at: number): Promise<boolean> => {
      activity = `the evaluation after step ${at}`;
      const epoch = Math.floor((at - 1) / perEpoch);
      let result: EvaluationResult;
      try {
        result = await evaluateModel(model, datasets.val, batchSize, (done, total) => options.onEvaluation?.({ done, total, epoch }), signal);
      } catch (error) {
        if (signal?.aborted) return false;
        throw error;
      }
      evaluation = result;
      log.append({ type: "eval", step: at, epoch, ...result });
      options.onEvaluated?.({ ...result, epoch, step: at });
      return true;
    };
    const result = (stopped: boolean): TrainResult => ({ steps: step, resumedFrom: startStep, checkpoint: folder.checkpoint, checkpointStep: savedStep, stopped, evaluation });

    // An evaluation that a kill or Ctrl-C cut short runs again.
    const evaluated = log.read().some((r) => r.type === "eval" && r.step === step);
    if (step > 0 && evaluationDue(step) && !evaluated && !(await evaluate(step))) return result(true);

    let checkpointDue = false;
    for (const batch of batches(trainSet, { batchSize, seed, startStep, epochs })) {
      if (batch.step >= totalSteps || signal?.aborted) break;
      activity = `step ${batch.step + 1}`;
      const examples = await loadExamples(batch, exampleOptions(spec, true));
      if (signal?.aborted) break;
      const started = performance.now();
      const lr = learningRate(schedule, batch.step);
      const samplerState = samplerRandom.state;
      let computed;
      try {
        computed = computeGradients(model, byTfName, examples);
      } catch (error) {
        // Non-finite weights can break an op (empty proposals after NaN boxes) before any loss exists.
        if (!allFinite(variables)) throw diverged("the weights became NaN or infinite", batch.step + 1, lr);
        throw error;
      }
      const { losses, gradients } = computed;
      const loss = Object.values(losses).reduce((a, b) => a + b, 0);
      if (!Number.isFinite(loss)) {
        tf.dispose(Object.values(gradients));
        throw diverged(`the loss became ${loss}`, batch.step + 1, lr);
      }
      // The weights of `step` have just given a finite loss: a checkpoint due for them is safe to write.
      if (checkpointDue)
        await checkpoint(samplerState).catch((error: unknown) => {
          tf.dispose(Object.values(gradients));
          throw error;
        });
      sgd.step(byTfName, gradients, lr);
      step = batch.step + 1;
      const seconds = (performance.now() - started) / 1000;
      log.append({ type: "step", step, epoch: batch.epoch, lr, loss, losses, seconds });
      options.onStep?.({ step, totalSteps, epoch: batch.epoch, lr, loss, losses, imagesPerSecond: examples.length / seconds });
      checkpointDue = step % checkpointEvery === 0 || step % perEpoch === 0;
      if (step === totalSteps) await finalCheckpoint();
      if (evaluationDue(step) && !(await evaluate(step))) break;
    }
    if (signal?.aborted) {
      activity = `the checkpoint of step ${step}`;
      await finalCheckpoint();
      return result(true);
    }
    return result(false);
  } catch (error) {
    if (error instanceof InputError && !(error instanceof TrainingError) && activity !== "starting")
      throw new TrainingError(`${activity}: ${error.message}; ${lastCheckpoint()}`, { cause: error });
    throw error;
  } finally {
    sgd.dispose();
    model.dispose();
  }
}

function allFinite(variables: ReadonlyMap<string, tf.Variable>): boolean {
  const floats = [...variables.values()].filter((v) => v.dtype === "float32");
  return tf.tidy(() => tf.stack(floats.map((v) => tf.all(tf.isFinite(v)))).all().dataSync()[0] === 1);
}

/** One SGD step; returns the four losses as numbers (the only host read-back of the step). */
export function trainStep(
  model: FasterRCNN,
  sgd: SGD,
  trainable: ReadonlyMap<string, tf.Variable>,
  examples: Awaited<ReturnType<typeof loadExamples>>,
  lr: number,
): Record<string, number> {
  const { losses, gradients } = computeGradients(model, trainable, examples);
  if (Object.values(losses).every(Number.isFinite)) sgd.step(trainable, gradients, lr);
  else tf.dispose(Object.values(gradients));
  return losses;
}

/** The four losses (as numbers) and the gradients of their sum; nothing is updated yet. */
export function computeGradients(
  model: FasterRCNN,
  trainable: ReadonlyMap<string, tf.Variable>,
  examples: Awaited<ReturnType<typeof loadExamples>>,
): { losses: Record<string, number>; gradients: tf.NamedTensorMap } {
  const parts = new Map<string, tf.Scalar>();
  const { value, grads } = variableGrads(() => {
    const losses = model.computeLosses(
      examples.map((e) => e.image),
      examples.map((e) => ({ boxes: e.boxes, labels: e.labels })),
    );
    for (const [name, loss] of Object.entries(losses)) parts.set(name, tf.keep(loss));
    return tf.addN([...parts.values()]) as tf.Scalar;
  }, [...trainable.values()]);
  value.dispose();
  const losses = Object.fromEntries([...parts].map(([name, loss]) => [name, loss.dataSync()[0]!]));
  tf.dispose([...parts.values()]);
  return { losses, gradients: grads };
}
