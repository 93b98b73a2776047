/** `nn.BatchNorm2d` / `FrozenBatchNorm2d` and `nn.LayerNorm` / `F.layer_norm`. */
import * as tf from "@tensorflow/tfjs";
import { batchNormTraining } from "../engine/ops/batch-norm.js";

export interface BatchNormState {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
  readonly numBatchesTracked: tf.Variable;
}

/**
 * Batch norm over a channels-last tensor (channels on the last axis).
 *
 * With `batchStatistics` (a trainable BN in training mode) it normalises by the batch's mean and
 * biased variance, in one fused op (`engine/ops/batch-norm.ts`), and, as torch does, moves the
 * running statistics towards them (`momentum` is the weight of the new value; the running variance
 * takes the unbiased estimate), unless `updateRunningStatistics` is false (a forward pass computed
 * again for the backward pass, which must not count twice). Otherwise it uses the
 * running statistics, which is also FrozenBatchNorm2d's computation; freezing is the variables'
 * `trainable` flag.
 */
export function batchNorm(
  x: tf.Tensor,
  state: BatchNormState,
  eps: number,
  momentum: number,
  batchStatistics: boolean,
  updateRunningStatistics: boolean,
): tf.Tensor {
  if (batchStatistics) {
    const { y, mean, variance } = batchNormTraining(x, state.weight, state.bias, eps);
    if (!updateRunningStatistics) return y;
    state.runningMean.assign(tf.add(tf.mul(state.runningMean, 1 - momentum), tf.mul(mean, momentum)));
    state.runningVar.assign(tf.add(tf.mul(state.runningVar, 1 - momentum), tf.mul(variance, momentum)));
    state.numBatchesTracked.assign(tf.add(state.numBatchesTracked, tf.scalar(1, "int32")));
    return y;
  }
  // One multiply-add over the activations: scale and shift are per-channel vectors.
  const { scale, shift } = runningAffine(state, eps);
  return tf.add(tf.mul(x, scale), shift);
}

/** Batch norm by running statistics as `x · scale + shift`, per channel (also what a conv folds in). */
export function runningAffine(state: BatchNormState, eps: number): { scale: tf.Tensor1D; shift: tf.Tensor1D } {
  const scale = tf.mul(state.weight, tf.rsqrt(tf.add(state.runningVar, eps))) as tf.Tensor1D;
  return { scale, shift: tf.sub(state.bias, tf.mul(state.runningMean, scale)) as tf.Tensor1D };
}

/** Layer norm over physical axis `axis` (biased variance, as torch). */
export function layerNorm(x: tf.Tensor, axis: number, weight: tf.Tensor, bias: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, axis, true);
  const normalised = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  // Weight and bias broadcast along `axis` whatever its position.
  const shape = x.shape.map((size, i) => (i === axis ? size : 1));
  return tf.add(tf.mul(normalised, weight.reshape(shape)), bias.reshape(shape));
}
