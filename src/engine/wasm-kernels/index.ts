/**
 * Kernels that make the WASM backend train: the gradients it lacks (convolution filters, depthwise
 * convolutions, `tf.gather`) and faster versions of the ones it runs slowly (transposed and batched
 * matrix products, a convolution's input gradient, tiling, slicing, average pooling's gradient), and
 * a non-maximum suppression that stays right past 2 GB of heap. Matrix products go to XNNPACK;
 * other loops run as WebAssembly SIMD or as copies within the heap. bench/wasm-kernels.ts measures
 * each against what it replaces.
 */
import * as tf from "@tensorflow/tfjs";
import { conv2DBackpropFilterKernel, conv2DBackpropInputKernel } from "./conv2d-backprop.js";
import { identityKernel, sliceKernel, splitVKernel, tileKernel } from "./data-movement.js";
import { depthwiseBackpropFilterKernel, depthwiseBackpropInputKernel } from "./depthwise-backprop.js";
import { builtinKernels } from "./heap.js";
import { batchMatMulKernel } from "./matmul.js";
import { nonMaxSuppressionV3Kernel } from "./non-max-suppression.js";
import { avgPoolGradKernel } from "./pooling.js";
import { unsortedSegmentSumKernel } from "./unsorted-segment-sum.js";

export const WASM_KERNELS: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterKernel,
  conv2DBackpropInputKernel,
  depthwiseBackpropFilterKernel,
  depthwiseBackpropInputKernel,
  unsortedSegmentSumKernel,
  batchMatMulKernel,
  tileKernel,
  sliceKernel,
  splitVKernel,
  identityKernel,
  avgPoolGradKernel,
  nonMaxSuppressionV3Kernel,
];

/** What we registered, by kernel name. */
const registered = new Map<string, tf.KernelConfig>();
const isOurs = (kernel: tf.KernelConfig | undefined) => kernel !== undefined && registered.get(kernel.kernelName) === kernel;

/**
 * Registers our kernels for backend "wasm", replacing the backend's own where it has one (kept,
 * for our kernels' fast paths and for {@link unregisterWasmKernels}). Idempotent; works before
 * and after the backend initialises.
 */
export function registerWasmKernels(): void {
  for (const kernel of WASM_KERNELS) {
    const current = tf.getKernel(kernel.kernelName, "wasm");
    if (isOurs(current)) continue;
    // A replaced kernel's set-up binds its WASM function, which ours calls: keep it running at start-up.
    const ours = current ? { ...kernel, setupFunc: current.setupFunc, disposeFunc: current.disposeFunc } : kernel;
    if (current) {
      builtinKernels.set(kernel.kernelName, current);
      tf.unregisterKernel(kernel.kernelName, "wasm");
    }
    tf.registerKernel(ours);
    registered.set(kernel.kernelName, ours);
  }
}

/** Puts back the backend's own kernels (for measuring ours against them). */
export function unregisterWasmKernels(): void {
  for (const kernel of WASM_KERNELS) {
    if (!isOurs(tf.getKernel(kernel.kernelName, "wasm"))) continue;
    tf.unregisterKernel(kernel.kernelName, "wasm");
    registered.delete(kernel.kernelName);
    const builtin = builtinKernels.get(kernel.kernelName);
    if (builtin) tf.registerKernel(builtin);
  }
}
