import * as tf from "@tensorflow/tfjs";

/**
 * tfjs-node keeps a new tensor's JavaScript values (random initial values, values read from a
 * file) until an op first reads it; one cheap read moves them into the engine, so they can go.
 * Its result is a throwaway: call it inside `tf.tidy`.
 */
export const moveIntoEngine = (tensor: tf.Tensor) => tf.reshape(tensor, [-1]);
