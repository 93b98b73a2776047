import * as tf from "@tensorflow/tfjs";

/**
 * tfjs-node keeps a new tensor's JavaScript values (random initial values, values read from a
 * file) until an op first reads it; one cheap read moves them into the engine, so they can go.
 * Its result is a throwaway: call it inside `tf.tidy`.
 */
export const moveIntoEngine = (tensor: tf.Tensor) => tf.reshape(tensor, [-1]);

/**
 * Frees the values of variables about to be filled from a file: each holds zeros that take no
 * memory until read (a fresh zeroed array, which tfjs-node does not copy into the engine before an
 * op reads it), so a variable's old value and the file's are never alive together.
 */
export function releaseValues(variables: Iterable<tf.Variable>): void {
  for (const variable of variables) tf.tidy(() => variable.assign(tf.zeros(variable.shape, variable.dtype)));
}
