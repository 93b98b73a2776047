/**
 * Activation gradients as one native op where TensorFlow has it. tfjs writes them as composites
 * (ReLU's: `mul(dy, cast(step(x)))`, and tfjs-node's `step` alone is four ops over the tensor); one
 * pass of TensorFlow's `ReluGrad` reads `dy` and `x` once. Elsewhere the composite runs unchanged.
 */
import * as tf from "@tensorflow/tfjs";
import { hasKernel, nativeKernel } from "./native.js";

export const ACTIVATION_KERNELS: readonly tf.KernelConfig[] = [
  // TensorFlow's "features" input: the activation's input or, as here, its output; either works.
  nativeKernel("ReluGrad", ["dy", "y"]),
  nativeKernel("Relu6Grad", ["dy", "y"]),
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

/** `dy · y(1 − y)`, the gradient of a sigmoid `y`: TensorFlow's one pass where the backend has it. */
export function sigmoidGradient(y: tf.Tensor, dy: tf.Tensor): tf.Tensor {
  return hasKernel("SigmoidGrad") ? (tf.engine().runKernel("SigmoidGrad", { y, dy }) as tf.Tensor) : tf.mul(dy, tf.mul(y, tf.sub(1, y)));
}

// ReLU and ReLU6 keep their output, not their input (tfjs's choice): the output decides the same
// mask (y > 0 where x > 0; 0 < y < 6 where 0 < x < 6), and the op after keeps it anyway, so the
// tape holds one tensor where it held two. TensorFlow's `ReluGrad` / `Relu6Grad` accept either.
export const ACTIVATION_GRADIENTS: readonly tf.GradConfig[] = [
  activationGradient("Relu", "ReluGrad", true, (dy, y) => tf.mul(dy, tf.cast(tf.step(y), "float32"))),
  // torch's (and TensorFlow's) derivative: 1 on (0, 6), 0 at both ends.
  activationGradient("Relu6", "Relu6Grad", true, (dy, y) =>
    tf.mul(dy, tf.cast(tf.logicalAnd(tf.greater(y, 0), tf.less(y, 6)), "float32")),
  ),
  activationGradient("Sigmoid", "SigmoidGrad", true, (dy, y) => sigmoidGradient(y, dy)),
];
