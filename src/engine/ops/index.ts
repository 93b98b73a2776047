/**
 * Ops and gradients tfjs lacks (cropAndResize's gradient, which RoIAlign needs; batch norm over
 * batch statistics as one op) or writes as slow composites (activation gradients), with their
 * kernels: TensorFlow's own ops natively, JavaScript on cpu and wasm. Registered once, for every
 * backend, by `selectBackend`.
 */
import * as tf from "@tensorflow/tfjs";
import { ACTIVATION_GRADIENTS, ACTIVATION_KERNELS } from "./activations.js";
import { BATCH_NORM_GRADIENT, BATCH_NORM_KERNELS } from "./batch-norm.js";
import { CROP_AND_RESIZE_GRADIENT, CROP_AND_RESIZE_KERNELS } from "./crop-and-resize.js";

let registered = false;

export function registerOps(): void {
  if (registered) return;
  registered = true;
  for (const kernel of [...ACTIVATION_KERNELS, ...BATCH_NORM_KERNELS, ...CROP_AND_RESIZE_KERNELS]) tf.registerKernel(kernel);
  for (const gradient of [...ACTIVATION_GRADIENTS, BATCH_NORM_GRADIENT, CROP_AND_RESIZE_GRADIENT]) tf.registerGradient(gradient);
}
