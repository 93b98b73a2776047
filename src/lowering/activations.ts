/**
 * torch.nn's activations as tfjs ops, with torch's exact definitions (GELU uses erf, not tanh).
 * The composites keep only their input for the backward pass (`lean-backward.ts`).
 */
import * as tf from "@tensorflow/tfjs";
import type { Activation } from "../zoo/graph.js";
import { gelu, hardSigmoid, hardSwish, silu } from "./lean-backward.js";

export const activations: Record<Activation, (x: tf.Tensor) => tf.Tensor> = {
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  hardsigmoid: hardSigmoid,
  hardswish: hardSwish,
  sigmoid: (x) => tf.sigmoid(x),
  silu,
  gelu,
};
