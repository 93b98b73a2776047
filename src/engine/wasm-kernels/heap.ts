/**
 * What our kernels need of the WASM backend: its heap (tensors live in the module's linear memory,
 * so a kernel can read and write them as typed arrays without copies) and its built-in kernels
 * (so a kernel can hand the heavy arithmetic to XNNPACK through them).
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";

/** The Emscripten module's views of its memory (the package's own types leave them untyped). */
interface EmscriptenHeaps {
  readonly HEAPU8: Uint8Array;
  readonly HEAPF32: Float32Array;
  readonly HEAP32: Int32Array;
}

export type TensorInfo = tf.TensorInfo;

/** The heap as bytes and as 4-byte words (the same memory), by byte offset and byte offset / 4. */
export interface HeapViews {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
}

/** The backend's own kernels that ours replace, by kernel name: ours still call them on their fast paths. */
export const builtinKernels = new Map<string, tf.KernelConfig>();

/** A kernel's handle on the backend; every tensor it makes and does not return, it disposes. */
export class WasmHeap {
  constructor(readonly backend: BackendWasm) {}

  /**
   * The tensor's elements in place. Any allocation may grow the memory and detach earlier views,
   * so take views after the allocations of a step, never across them.
   */
  floats(tensor: TensorInfo): Float32Array {
    return this.view(tensor, (this.backend.wasm as unknown as EmscriptenHeaps).HEAPF32);
  }

  ints(tensor: TensorInfo): Int32Array {
    return this.view(tensor, (this.backend.wasm as unknown as EmscriptenHeaps).HEAP32);
  }

  /** All of the heap as floats, for copies between tensors by `offset` (`copyWithin` is a memmove). */
  allFloats(): Float32Array {
    return (this.backend.wasm as unknown as EmscriptenHeaps).HEAPF32;
  }

  /** The element index of the tensor's first element in `allFloats()` (and in `HEAP32`). */
  offset(tensor: TensorInfo): number {
    return this.byteOffset(tensor) / 4;
  }

  /** All of the heap, for copies whatever the dtype. */
  views(): HeapViews {
    const heaps = this.backend.wasm as unknown as EmscriptenHeaps;
    return { bytes: heaps.HEAPU8, words: heaps.HEAP32 };
  }

  byteOffset(tensor: TensorInfo): number {
    return this.backend.dataIdMap.get(tensor.dataId)!.memoryOffset;
  }

  /** An uninitialised tensor on the heap. */
  allocate(shape: number[], dtype: tf.DataType = "float32"): TensorInfo {
    return this.backend.makeOutput(shape, dtype);
  }

  zeros(shape: number[], dtype: "float32" | "int32" = "float32"): TensorInfo {
    const tensor = this.allocate(shape, dtype);
    this.floats(tensor).fill(0); // zero bits are 0 in both dtypes
    return tensor;
  }

  /** The same data seen with another shape; dispose it like any other tensor. */
  reshape(tensor: TensorInfo, shape: number[]): TensorInfo {
    this.backend.incRef(tensor.dataId);
    return { dataId: tensor.dataId, shape, dtype: tensor.dtype };
  }

  dispose(...tensors: TensorInfo[]): void {
    for (const tensor of tensors) this.backend.disposeData(tensor.dataId);
  }

  /** Runs a kernel as registered for wasm now (ours where we replaced one). */
  run(kernelName: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
    return this.call(tf.getKernel(kernelName, "wasm"), inputs, attrs);
  }

  /** Runs the backend's own kernel, also where ours replaced it. */
  runBuiltin(kernelName: string, inputs: Record<string, TensorInfo>, attrs: object = {}): TensorInfo {
    return this.call(builtinKernels.get(kernelName) ?? tf.getKernel(kernelName, "wasm"), inputs, attrs);
  }

  private call(kernel: tf.KernelConfig, inputs: Record<string, TensorInfo>, attrs: object): TensorInfo {
    return kernel.kernelFunc({ inputs, backend: this.backend, attrs: attrs as tf.NamedAttrMap }) as TensorInfo;
  }

  private view<T extends Float32Array | Int32Array>(tensor: TensorInfo, heap: T): T {
    const start = this.offset(tensor);
    return heap.subarray(start, start + tf.util.sizeFromShape(tensor.shape)) as T;
  }
}

/** A wasm kernel config whose body works on the heap; `attrs` are the kernel's documented attributes. */
export function wasmKernel<Attrs>(
  kernelName: string,
  body: (heap: WasmHeap, inputs: Record<string, TensorInfo>, attrs: Attrs) => TensorInfo | TensorInfo[],
): tf.KernelConfig {
  return {
    kernelName,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) =>
      body(new WasmHeap(backend as BackendWasm), inputs as Record<string, TensorInfo>, attrs as unknown as Attrs),
  };
}
