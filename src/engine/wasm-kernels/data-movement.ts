/**
 * Copies the backend makes slowly: its Tile computes each element's source index (about 100 ns an
 * element), its Slice (and SplitV, piece by piece) first copies the whole input off the heap, and
 * its Identity copies where sharing the data, as the cpu backend does, is enough (tensors are
 * immutable). Ours move contiguous runs within the heap.
 */
import * as tf from "@tensorflow/tfjs";
import { type HeapViews, type TensorInfo, type WasmHeap, wasmKernel } from "./heap.js";

/** Strings and complex numbers do not live on the heap: the backend's own kernels handle them. */
const onHeap = (tensor: TensorInfo) => tensor.dtype !== "string" && tensor.dtype !== "complex64";

export const identityKernel = wasmKernel<object>(tf.Identity, (heap, { x }) =>
  onHeap(x!) ? heap.reshape(x!, x!.shape) : heap.runBuiltin(tf.Identity, { x: x! }),
);

/** Runs up to this long are copied in a loop, cheaper than a `copyWithin` call (measured: 32–128 bytes break even). */
const SHORT_RUN_BYTES = 64;

/** Byte offsets reach 4 GiB: word indices use `>>>`, since `>>` turns offsets past 2 GiB negative. */
function move({ bytes: memory, words }: HeapViews, to: number, from: number, bytes: number): void {
  if (bytes > SHORT_RUN_BYTES) memory.copyWithin(to, from, from + bytes);
  else if (((to | from | bytes) & 3) === 0) for (let i = 0; i < bytes >> 2; i++) words[(to >>> 2) + i] = words[(from >>> 2) + i]!;
  else for (let i = 0; i < bytes; i++) memory[to + i] = memory[from + i]!;
}

/** The box [start, start + extent) of `x`, in a tensor of its own. */
function copyBox(heap: WasmHeap, x: TensorInfo, start: number[], extent: number[]): TensorInfo {
  const out = heap.allocate(extent, x.dtype);
  if (tf.util.sizeFromShape(extent) === 0) return out;
  const rank = x.shape.length;
  const elementBytes = tf.util.bytesPerElement(x.dtype);
  const strides = [...tf.util.computeStrides(x.shape), 1];
  // The innermost axes the box spans fully, plus the one before them, are one contiguous run.
  let runAxis = rank - 1;
  while (runAxis > 0 && extent[runAxis] === x.shape[runAxis]) runAxis--;
  const runBytes = (rank === 0 ? 1 : extent[runAxis]! * strides[runAxis]!) * elementBytes;
  const memory = heap.views();
  const outAt = heap.byteOffset(out);
  const xAt = heap.byteOffset(x);
  const index = new Array<number>(Math.max(runAxis, 0)).fill(0);
  for (let to = outAt; ; to += runBytes) {
    let from = xAt;
    for (let axis = 0; axis <= runAxis; axis++) from += ((start[axis] ?? 0) + (index[axis] ?? 0)) * strides[axis]! * elementBytes;
    move(memory, to, from, runBytes);
    // Odometer over the axes before the run.
    let axis = runAxis - 1;
    while (axis >= 0 && ++index[axis]! === extent[axis]) index[axis--] = 0;
    if (axis < 0) return out;
  }
}

export const sliceKernel = wasmKernel<tf.SliceAttrs>(tf.Slice, (heap, { x }, attrs) => {
  if (!onHeap(x!)) return heap.runBuiltin(tf.Slice, { x: x! }, attrs);
  const [start, extent] = tf.slice_util.parseSliceParams(x!, attrs.begin, attrs.size);
  return copyBox(heap, x!, start!, extent!);
});

export const splitVKernel = wasmKernel<tf.SplitVAttrs>(tf.SplitV, (heap, { x }, attrs) => {
  if (!onHeap(x!)) return heap.runBuiltin(tf.SplitV, { x: x! }, attrs);
  const axis = tf.util.parseAxisParam(attrs.axis, x!.shape)[0]!;
  const start = x!.shape.map(() => 0);
  return tf.backend_util.prepareSplitSize(x!, attrs.numOrSizeSplits, axis).map((length) => {
    const extent = [...x!.shape];
    extent[axis] = length;
    const piece = copyBox(heap, x!, start, extent);
    start[axis]! += length;
    return piece;
  });
});

export const tileKernel = wasmKernel<tf.TileAttrs>(tf.Tile, (heap, { x }, { reps }) => {
  if (!onHeap(x!)) return heap.runBuiltin(tf.Tile, { x: x! }, { reps });
  const rank = x!.shape.length;
  const outShape = x!.shape.map((size, axis) => size * reps[axis]!);
  const out = heap.allocate(outShape, x!.dtype);
  if (tf.util.sizeFromShape(outShape) === 0) return out;
  const elementBytes = tf.util.bytesPerElement(x!.dtype);
  const inputStrides = [...tf.util.computeStrides(x!.shape), 1].map((stride) => stride * elementBytes);
  const outStrides = [...tf.util.computeStrides(outShape), 1].map((stride) => stride * elementBytes);
  const memory = heap.views();
  /** Writes x's block at `from` once at `to`, then repeats it `reps[axis]` times along `axis`. */
  const tile = (axis: number, from: number, to: number): void => {
    const size = x!.shape[axis]!;
    if (axis === rank - 1) move(memory, to, from, size * elementBytes);
    else for (let i = 0; i < size; i++) tile(axis + 1, from + i * inputStrides[axis]!, to + i * outStrides[axis]!);
    const blockBytes = size * outStrides[axis]!;
    for (let done = 1; done < reps[axis]!; done *= 2) {
      const copies = Math.min(done, reps[axis]! - done);
      move(memory, to + done * blockBytes, to, copies * blockBytes);
    }
  };
  const [xAt, outAt] = [heap.byteOffset(x!), heap.byteOffset(out)];
  if (rank === 0) move(memory, outAt, xAt, elementBytes);
  else tile(0, xAt, outAt);
  return out;
});
