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
import { collectGarbageEvery } from "../util/collect-garbage.js";
import type { SpecDatasets } from "./datasets.js";
import { evaluateModel, type EvaluationResult } from "./evaluate.js";
import { variableGrads } from "../engine/gradients.js";
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
  const run = new TrainingRun(spec, datasets, options);
  try {
    run.setUp();
    if (!(await run.finishCutShortEvaluation())) return run.result(true);
    await run.stepUntilDone();
    if (options.signal?.aborted) {
      run.activity = `the checkpoint of step ${run.step}`;
      await run.finalCheckpoint();
      return run.result(true);
    }
    return run.result(false);
  } catch (error) {
    if (error instanceof InputError && !(error instanceof TrainingError) && run.activity !== "starting")
      throw new TrainingError(`${run.activity}: ${error.message}; ${run.lastCheckpoint()}`, { cause: error });
    throw error;
  } finally {
    run.dispose();
  }
}

/** One call of `train`: its model and optimizer, and how far it has got. */
class TrainingRun {
  private readonly settings: DetectorSpec["settings"]["train"];
  private readonly trainSet: ReturnType<typeof trainingSubset>;
  private readonly perEpoch: number;
  private readonly totalSteps: number;
  private readonly log: MetricsLog;
  private readonly hash: string;
  private readonly samplerRandom: ReturnType<typeof randomFromState>;
  private readonly model: FasterRCNN;
  private readonly sgd: SGD;
  private readonly variables: Map<string, tf.Variable>;
  private readonly trainable: tf.Variable[];
  private readonly byTfName: Map<string, tf.Variable>;
  private readonly keyOfTfName: Map<string, string>;
  private readonly schedule: ReturnType<typeof scheduleOf>;
  /** The steps taken, counting those before a resume. */
  step = 0;
  private startStep = 0;
  private savedStep: number | undefined;
  /** What was under way, for the message of an error met during it. */
  activity = "starting";
  private evaluation: EvaluationResult | undefined;

  constructor(
    private readonly spec: DetectorSpec,
    private readonly datasets: SpecDatasets,
    private readonly options: TrainOptions,
  ) {
    this.settings = spec.settings.train;
    this.trainSet = trainingSubset(datasets.train);
    this.perEpoch = stepsPerEpoch(this.trainSet.samples.length, this.settings.batch_size);
    this.totalSteps = Math.min(this.settings.epochs * this.perEpoch, options.maxSteps ?? Infinity);
    this.log = new MetricsLog(options.folder.metrics);
    this.hash = specHash(spec);
    this.schedule = scheduleOf(this.settings, this.perEpoch);
    this.samplerRandom = randomFromState(this.settings.seed);
    this.model = buildFasterRCNN(spec, { seed: this.settings.seed, random: this.samplerRandom });
    this.sgd = new SGD(this.settings.momentum, this.settings.weight_decay);
    this.variables = this.model.variables();
    this.trainable = this.model.trainableVariables();
    this.byTfName = new Map(this.trainable.map((v) => [v.name, v]));
    this.keyOfTfName = new Map([...this.variables].map(([key, v]) => [v.name, key]));
  }

  /** The starting weights, or a resumed run's checkpoint; the metrics log cut back to match. */
  setUp(): void {
    const { folder } = this.options;
    const resuming = folder.resume && existsSync(folder.checkpoint);
    // A resumed run's checkpoint holds every variable, so starting weights would be overwritten.
    if (resuming) this.resume();
    else
      for (const report of initialiseWeights(this.model, { specDir: this.options.specDir ?? ".", init: this.options.init, allowPartial: this.options.allowPartial }))
        this.options.onWeightsLoaded?.(report);
    if (folder.resume) this.log.truncateAfter(this.step);
    this.startStep = this.step;
  }

  private resume(): void {
    const { checkpoint } = this.options.folder;
    const saved = readCheckpoint(checkpoint);
    if (saved.state.specHash !== this.hash)
      throw new CheckpointError(`${checkpoint} was written for a different model (detector \`${saved.state.detector}\`); start a new --out`);
    restoreVariables(checkpoint, this.variables, saved.variables, collectGarbageEvery());
    for (const variable of this.trainable) {
      const buffer = saved.momentum.get(this.keyOfTfName.get(variable.name)!);
      if (buffer) this.sgd.buffers.set(variable.name, tf.variable(tf.tensor(buffer.data as Float32Array, buffer.shape as number[]), false));
    }
    this.step = this.savedStep = saved.state.step;
    if (saved.state.samplerState !== undefined) this.samplerRandom.state = saved.state.samplerState;
  }

  /** An evaluation that a kill or Ctrl-C cut short runs again; false when stopped again. */
  async finishCutShortEvaluation(): Promise<boolean> {
    const evaluated = this.log.read().some((r) => r.type === "eval" && r.step === this.step);
    return !(this.step > 0 && this.evaluationDue(this.step) && !evaluated) || (await this.evaluate(this.step));
  }

  /** Steps until `totalSteps` or `signal`, checkpointing and evaluating as they fall due. */
  async stepUntilDone(): Promise<void> {
    const { signal } = this.options;
    const { batch_size: batchSize, seed, epochs } = this.settings;
    let checkpointDue = false;
    for (const batch of batches(this.trainSet, { batchSize, seed, startStep: this.startStep, epochs })) {
      if (batch.step >= this.totalSteps || signal?.aborted) break;
      this.activity = `step ${batch.step + 1}`;
      const examples = await loadExamples(batch, exampleOptions(this.spec, true));
      if (signal?.aborted) break;
      await this.takeStep(batch, examples, checkpointDue);
      checkpointDue = this.step % this.settings.checkpoint_every === 0 || this.step % this.perEpoch === 0;
      if (this.step === this.totalSteps) await this.finalCheckpoint();
      if (this.evaluationDue(this.step) && !(await this.evaluate(this.step))) break;
    }
  }

  /**
   * One SGD step, refused if its loss is not finite. A checkpoint due for the weights it starts
   * from is written once that loss has proved them good.
   */
  private async takeStep(batch: { step: number; epoch: number }, examples: Awaited<ReturnType<typeof loadExamples>>, checkpointDue: boolean): Promise<void> {
    const started = performance.now();
    const lr = learningRate(this.schedule, batch.step);
    const samplerState = this.samplerRandom.state;
    let computed;
    try {
      computed = computeGradients(this.model, this.byTfName, examples);
    } catch (error) {
      // Non-finite weights can break an op (empty proposals after NaN boxes) before any loss exists.
      if (!allFinite(this.variables)) throw this.diverged("the weights became NaN or infinite", batch.step + 1, lr);
      throw error;
    }
    const { losses, gradients } = computed;
    const loss = Object.values(losses).reduce((a, b) => a + b, 0);
    if (!Number.isFinite(loss)) {
      tf.dispose(Object.values(gradients));
      throw this.diverged(`the loss became ${loss}`, batch.step + 1, lr);
    }
    if (checkpointDue)
      await this.checkpoint(samplerState).catch((error: unknown) => {
        tf.dispose(Object.values(gradients));
        throw error;
      });
    this.sgd.step(this.byTfName, gradients, lr);
    this.step = batch.step + 1;
    const seconds = (performance.now() - started) / 1000;
    this.log.append({ type: "step", step: this.step, epoch: batch.epoch, lr, loss, losses, seconds });
    this.options.onStep?.({ step: this.step, totalSteps: this.totalSteps, epoch: batch.epoch, lr, loss, losses, imagesPerSecond: examples.length / seconds });
  }

  private async checkpoint(samplerState: number): Promise<void> {
    this.log.sync();
    const momentumByKey = new Map([...this.sgd.buffers].map(([tfName, v]) => [this.keyOfTfName.get(tfName)!, v]));
    await saveCheckpoint(this.options.folder.checkpoint, this.variables, momentumByKey, {
      step: this.step,
      epoch: Math.floor(this.step / this.perEpoch),
      detector: this.spec.name,
      specHash: this.hash,
      samplerState,
    });
    this.savedStep = this.step;
  }

  /** At the end of a run there is no next step to prove the weights good; finite is the least they must be. */
  async finalCheckpoint(): Promise<void> {
    if (this.step === (this.savedStep ?? 0)) return;
    if (!allFinite(this.variables)) throw this.diverged("the weights became NaN or infinite", this.step, learningRate(this.schedule, this.step - 1));
    await this.checkpoint(this.samplerRandom.state);
  }

  private diverged(what: string, atStep: number, lr: number): TrainingError {
    return new TrainingError(
      `${what} at step ${atStep} (lr ${lr.toPrecision(3)}); stopped before applying it, and ${this.lastCheckpoint()}; ` +
        "a lower `train lr` or more `warmup_steps` usually helps",
    );
  }

  lastCheckpoint(): string {
    return this.savedStep === undefined ? "no checkpoint was written yet" : `the last checkpoint, ${this.options.folder.checkpoint}, holds step ${this.savedStep}`;
  }

  private evaluationDue(at: number): boolean {
    return at % this.perEpoch === 0 || at === this.totalSteps;
  }

  /** False when stopped by `signal` before it finished. */
  private async evaluate(at: number): Promise<boolean> {
    const { signal } = this.options;
    this.activity = `the evaluation after step ${at}`;
    const epoch = Math.floor((at - 1) / this.perEpoch);
    let result: EvaluationResult;
    try {
      result = await evaluateModel(this.model, this.datasets.val, this.settings.batch_size, (done, total) => this.options.onEvaluation?.({ done, total, epoch }), signal);
    } catch (error) {
      if (signal?.aborted) return false;
      throw error;
    }
    this.evaluation = result;
    this.log.append({ type: "eval", step: at, epoch, ...result });
    this.options.onEvaluated?.({ ...result, epoch, step: at });
    return true;
  }

  result(stopped: boolean): TrainResult {
    return { steps: this.step, resumedFrom: this.startStep, checkpoint: this.options.folder.checkpoint, checkpointStep: this.savedStep, stopped, evaluation: this.evaluation };
  }

  dispose(): void {
    this.sgd.dispose();
    this.model.dispose();
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
