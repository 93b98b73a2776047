import type { TrainSettings } from "../check/settings.js";

/**
 * The learning rate at a step, as torchvision's detection reference schedules it: linear warm-up
 * from `lr × warmup_factor` over the first steps, then ×`lr_gamma` after each epoch in `lr_steps`.
 */
export interface Schedule {
  readonly lr: number;
  readonly warmupSteps: number;
  readonly warmupFactor: number;
  /** Epochs after which the rate decays. */
  readonly lrSteps: readonly number[];
  readonly lrGamma: number;
  readonly stepsPerEpoch: number;
}

export function learningRate(schedule: Schedule, step: number): number {
  const epoch = Math.floor(step / schedule.stepsPerEpoch);
  const decays = schedule.lrSteps.filter((e) => epoch >= e).length;
  let rate = schedule.lr * schedule.lrGamma ** decays;
  if (step < schedule.warmupSteps) {
    const alpha = step / schedule.warmupSteps;
    rate *= schedule.warmupFactor * (1 - alpha) + alpha;
  }
  return rate;
}

/** The spec's `train` settings as a schedule; warm-up is capped at the first epoch, as torchvision's references cap it. */
export function scheduleOf(train: TrainSettings, stepsPerEpoch: number): Schedule {
  return {
    lr: train.lr,
    warmupSteps: Math.min(train.warmup_steps, stepsPerEpoch - 1),
    warmupFactor: train.warmup_factor,
    lrSteps: train.lr_steps,
    lrGamma: train.lr_gamma,
    stepsPerEpoch,
  };
}
