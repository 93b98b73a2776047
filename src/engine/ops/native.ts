/**
 * TensorFlow ops that tfjs-node has no kernel for, run through its eager `executeOp` binding. They
 * are registered for backend "tensorflow" only; a gradient that wants one asks {@link hasKernel} and
 * otherwise falls back to tfjs's composite of standard ops, so model code stays backend-neutral.
 */
import * as tf from "@tensorflow/tfjs";

/** What we use of tfjs-node's backend (its package types are not a dependency of ours). */
interface NativeBackend {
  readonly binding: NativeBinding;
  executeMultipleOutputs(name: string, attrs: NativeAttr[], inputs: tf.TensorInfo[], outputCount: number): tf.TensorInfo[];
}

export interface NativeBinding {
  readonly TF_ATTR_TYPE: number;
  readonly TF_ATTR_STRING: number;
  readonly TF_ATTR_FLOAT: number;
  readonly TF_ATTR_BOOL: number;
  readonly TF_FLOAT: number;
}

export interface NativeAttr {
  readonly name: string;
  readonly type: number;
  readonly value: unknown;
}

/**
 * A kernel for backend "tensorflow" that runs TensorFlow's op of the same name (float32, attr `T`)
 * on `inputs` in `inputOrder`, with `extraAttrs` made from the kernel's attributes.
 */
export function nativeKernel(
  kernelName: string,
  inputOrder: readonly string[],
  extraAttrs: (binding: NativeBinding, attrs: tf.NamedAttrMap) => NativeAttr[] = () => [],
  outputCount = 1,
): tf.KernelConfig {
  return {
    kernelName,
    backendName: "tensorflow",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const native = backend as unknown as NativeBackend;
      const floatType = { name: "T", type: native.binding.TF_ATTR_TYPE, value: native.binding.TF_FLOAT };
      const outputs = native.executeMultipleOutputs(
        kernelName,
        [floatType, ...extraAttrs(native.binding, attrs ?? {})],
        inputOrder.map((name) => inputs[name]!),
        outputCount,
      );
      return outputCount === 1 ? outputs[0]! : outputs;
    },
  };
}

/** Whether the active backend has `kernelName`: gradients use a fused kernel only where one exists. */
export const hasKernel = (kernelName: string) => tf.getKernel(kernelName, tf.getBackend()) !== undefined;
