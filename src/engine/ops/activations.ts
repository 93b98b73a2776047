/**
 * Activation gradients as one native op where TensorFlow has it. tfjs writes them as composites
 * (ReLU's: `mul(dy, cast(step(x)))`, and tfjs-node's `step` alone is four ops over the tensor); one
 * pass of TensorFlow's `ReluGrad` reads `dy` and `x` once. Elsewhere the composite runs unchanged.
 */
import * as tf from "@tensorflow/tfjs";
import { hasKernel, nativeKernel } from "./native.js";

export const ACTIVATION_KERNELS: readonly tf.KernelConfig[] = [
  nativeKernel("ReluGrad", ["dy", "x"]),
  nativeKernel("Relu6Grad", ["dy", "x"]),
  nativeKernel("SigmoidGrad", ["y", "dy"]),
];

/**
 * The gradient of one-input activation `kernelName`, from `saved` (its input `x`, or its output `y`
 * with `savesOutput`): kernel `fusedKernel` when the backend has it, else `composite`.
 */
function activationGradient(
  kernelName: string,
  fusedKernel: string,
  savesOutput: boolean,
  composite: (dy: tf.Tensor, saved: tf.Tensor) => tf.Tensor,
): tf.GradConfig {
  const savedName = savesOutput ? "y" : "x";
  return {
    kernelName,
    ...(savesOutput ? { outputsToSave: [true] } : { inputsToSave: ["x"] }),
    gradFunc: (dy, [saved]) => ({
      x: () =>
        hasKernel(fusedKernel)
          ? (tf.engine().runKernel(fusedKernel, { dy: dy as tf.Tensor, [savedName]: saved! }) as tf.Tensor)
          : composite(dy as tf.Tensor, saved!),
    }),
  };
}

export const ACTIVATION_GRADIENTS: readonly tf.GradConfig[] = [
  activationGradient("Relu", "ReluGrad", false, (dy, x) => tf.mul(dy, tf.cast(tf.step(x), "float32"))),
  // torch's (and TensorFlow's) derivative: 1 on (0, 6), 0 at both ends.
  activationGradient("Relu6", "Relu6Grad", false, (dy, x) =>
    tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(x, 0), tf.less(x, 6)), "float32")),
  ),
  activationGradient("Sigmoid", "SigmoidGrad", true, (dy, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y)))),
];
