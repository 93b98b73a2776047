/** torch.nn's activations as tfjs ops, with torch's exact definitions (GELU uses erf, not tanh). */
import * as tf from "@tensorflow/tfjs";
import type { Activation } from "../zoo/graph.js";

/** `relu6(x + 3) / 6`, torch's Hardsigmoid. */
const hardSigmoid = (x: tf.Tensor) => tf.div(tf.relu6(tf.add(x, 3)), 6);

export const activations: Record<Activation, (x: tf.Tensor) => tf.Tensor> = {
  relu: (x) => tf.relu(x),
  relu6: (x) => tf.relu6(x),
  hardsigmoid: hardSigmoid,
  hardswish: (x) => tf.mul(x, hardSigmoid(x)),
  sigmoid: (x) => tf.sigmoid(x),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
};
