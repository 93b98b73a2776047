/** What the JavaScript kernels (on cpu and wasm) use of a backend: values out, a tensor from values. */
import type * as tf from "@tensorflow/tfjs";

export type JsBackendName = "cpu" | "wasm";

interface JsBackend {
  readSync(dataId: tf.DataId): Float32Array | Int32Array;
  makeTensorInfo?(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo; // cpu
  makeOutput(shape: number[], dtype: "float32", memoryOffset?: number, values?: Float32Array): tf.TensorInfo; // wasm
}

/** A copy of the tensor's values (float32 or int32, as its dtype). */
export function readValues<T extends Float32Array | Int32Array = Float32Array>(backend: unknown, tensor: tf.TensorInfo): T {
  return (backend as unknown as JsBackend).readSync(tensor.dataId) as T;
}

/** A float32 tensor on `backend` holding `values`. */
export function tensorFrom(backendName: JsBackendName, backend: unknown, shape: number[], values: Float32Array): tf.TensorInfo {
  const js = backend as unknown as JsBackend;
  return backendName === "cpu" ? js.makeTensorInfo!(shape, "float32", values) : js.makeOutput(shape, "float32", undefined, values);
}
