/**
 * Matrix products on XNNPACK. The backend sends only one case there (batch 1, neither side
 * transposed: its `xnn_matmul`); everything else runs a scalar triple loop about 20× slower. So we
 * bring every product to that case: transposed operands are transposed explicitly, a batch on one
 * side only is folded into the rows, and a batch on both sides runs as one product per batch
 * element when those are big enough to pay for it.
 *
 * XNNPACK packs the product's right operand `b` before multiplying, at about three times the cost
 * of transposing it (measured: ~10 ns a float, against ~3 ns), so which side ends up as `b`
 * matters: a·b may be computed as (bᵀ·aᵀ)ᵀ when that moves fewer floats.
 */
import * as tf from "@tensorflow/tfjs";
import { type TensorInfo, type WasmHeap, wasmKernel } from "./heap.js";

/**
 * `a` [M, K] · `b` [K, N] → [M, N] on XNNPACK. XNNPACK caches `b` packed under `b`'s tensor id
 * until `b` is disposed, whatever shape `b` is later seen with: `b` must be a tensor the kernel
 * made, or a caller's tensor seen as [its second-last axis, its last axis] as the backend sees it.
 */
export function multiply(heap: WasmHeap, a: TensorInfo, b: TensorInfo): TensorInfo {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  if (k === 0) return heap.zeros([m, n]);
  if (m === 0 || n === 0) return heap.allocate([m, n]);
  return heap.runBuiltin(tf.BatchMatMul, { a, b }, { transposeA: false, transposeB: false });
}

/** Cost of packing one float of `b`, in transposes of one float. */
const PACKING_COST = 3;

/**
 * op(a) · op(b) for 2-D `a`, `b` (op: transposed when asked) → [M, N], as a·b or as (bᵀ·aᵀ)ᵀ,
 * whichever needs fewer transposed and packed floats. Either operand may become XNNPACK's `b`
 * untransposed: see {@link multiply} for what it may be.
 */
export function multiplyTransposed(heap: WasmHeap, a: TensorInfo, transposeA: boolean, b: TensorInfo, transposeB: boolean): TensorInfo {
  const [m, k] = transposeA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const n = transposeB ? b.shape[0]! : b.shape[1]!;
  const direct = (transposeA ? m * k : 0) + (transposeB ? k * n : 0) + PACKING_COST * k * n;
  const swapped = (transposeB ? 0 : k * n) + (transposeA ? 0 : m * k) + m * n + PACKING_COST * k * m;
  const operand = (matrix: TensorInfo, transpose: boolean) => (transpose ? transposeLastTwo(heap, matrix) : matrix);
  const [left, right] = direct <= swapped ? [operand(a, transposeA), operand(b, transposeB)] : [operand(b, !transposeB), operand(a, !transposeA)];
  const product = multiply(heap, left, right);
  for (const temporary of [left, right]) if (temporary !== a && temporary !== b) heap.dispose(temporary);
  if (direct <= swapped) return product;
  const out = transposeLastTwo(heap, product);
  heap.dispose(product);
  return out;
}

/** A copy of `tensor` with its last two axes swapped. */
export function transposeLastTwo(heap: WasmHeap, tensor: TensorInfo): TensorInfo {
  const rank = tensor.shape.length;
  const perm = [...Array(rank).keys()];
  [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
  return heap.run(tf.Transpose, { x: tensor }, { perm });
}

/** A kernel's own output seen with another shape (it has no other holder, so no reference to count). */
export const withShape = (tensor: TensorInfo, shape: number[]): TensorInfo => ({ ...tensor, shape });

/** Matrix `index` of a batch of matrices, copied into a tensor of its own. */
function batchMember(heap: WasmHeap, batch: TensorInfo, index: number): TensorInfo {
  const [rows, columns] = batch.shape.slice(-2) as [number, number];
  const member = heap.allocate([rows, columns]);
  const size = rows * columns;
  heap.floats(member).set(heap.floats(batch).subarray(index * size, (index + 1) * size));
  return member;
}

/**
 * Below this many multiply-adds per batch element, the backend's loop beats one XNNPACK product per
 * element (each packs its `b` and creates an operator): measured between 16³ and 24³.
 */
const MIN_MULTIPLY_ADDS_PER_BATCH_ELEMENT = 8 * 1024;

/** A batch of matrices as [batch, rows, columns], transposed (a copy) when asked, else a view. */
function untransposed(heap: WasmHeap, matrices: TensorInfo, batch: number, transpose: boolean): TensorInfo {
  const [rows, columns] = matrices.shape.slice(-2) as [number, number];
  const batched = heap.reshape(matrices, [batch, rows, columns]);
  if (!transpose) return batched;
  const copy = transposeLastTwo(heap, batched);
  heap.dispose(batched);
  return copy;
}

/** A batch of matrices, transposed when asked, with their rows stacked: [batch · rows, columns]. */
function stackedRows(heap: WasmHeap, matrices: TensorInfo, batch: number, transpose: boolean): TensorInfo {
  const batched = untransposed(heap, matrices, batch, transpose);
  const [, rows, columns] = batched.shape as [number, number, number];
  const stacked = heap.reshape(batched, [batch * rows, columns]);
  heap.dispose(batched);
  return stacked;
}

export const batchMatMulKernel = wasmKernel<tf.BatchMatMulAttrs>(tf.BatchMatMul, (heap, { a, b }, attrs) => {
  const { transposeA, transposeB } = attrs;
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a!.shape.slice(0, -2), b!.shape.slice(0, -2));
  const batchA = tf.util.sizeFromShape(a!.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b!.shape.slice(0, -2));
  const batch = tf.util.sizeFromShape(batchShape);
  const [m, k] = transposeA ? [a!.shape.at(-1)!, a!.shape.at(-2)!] : [a!.shape.at(-2)!, a!.shape.at(-1)!];
  const [kB, n] = transposeB ? [b!.shape.at(-1)!, b!.shape.at(-2)!] : [b!.shape.at(-2)!, b!.shape.at(-1)!];
  if (k !== kB) throw new Error(`BatchMatMul: inner dimensions ${k} and ${kB} of shapes [${a!.shape}] and [${b!.shape}] differ`);
  const outShape = [...batchShape, m, n];
  const sameBatches = batchA === batch && batchB === batch;
  if (!sameBatches && batchA !== 1 && batchB !== 1) throw unsupportedBroadcast(a!, b!);
  const alreadyFast = !transposeA && !transposeB && batch === 1;
  const tooSmallToSplit = batchA > 1 && batchB > 1 && m * n * k < MIN_MULTIPLY_ADDS_PER_BATCH_ELEMENT;
  if (alreadyFast || tooSmallToSplit || a!.dtype !== "float32" || b!.dtype !== "float32")
    return withShape(heap.runBuiltin(tf.BatchMatMul, { a: a!, b: b! }, attrs), outShape);
  if (batch * m * n === 0) return heap.allocate(outShape);
  if (k === 0) return heap.zeros(outShape);

  // Operands are either copies or the caller's tensors seen as their last two axes (see `multiply`).
  const matrix = (operand: TensorInfo) => heap.reshape(operand, operand.shape.slice(-2));
  if (batchB === 1) {
    // Every `a` meets the same `b`: one product, with a's batch folded into its rows.
    const left = batchA === 1 ? matrix(a!) : stackedRows(heap, a!, batchA, transposeA);
    const right = matrix(b!);
    const out = multiplyTransposed(heap, left, transposeA && batchA === 1, right, transposeB);
    heap.dispose(left, right);
    return withShape(out, outShape);
  }
  if (batchA === 1) {
    // One `a` for every `b`: (a·b)ᵀ = bᵀ·aᵀ, with b's batch folded into bᵀ's rows.
    const rows = stackedRows(heap, b!, batchB, !transposeB);
    const left = matrix(a!);
    const product = multiplyTransposed(heap, rows, false, left, !transposeA);
    const out = transposeLastTwo(heap, withShape(product, [batchB, n, m]));
    heap.dispose(rows, left, product);
    return withShape(out, outShape);
  }
  const left = untransposed(heap, a!, batch, transposeA);
  const right = untransposed(heap, b!, batch, transposeB);
  const out = heap.allocate(outShape);
  for (let index = 0; index < batch; index++) {
    const leftMember = batchMember(heap, left, index);
    const rightMember = batchMember(heap, right, index);
    const product = multiply(heap, leftMember, rightMember);
    heap.floats(out).set(heap.floats(product), index * m * n);
    heap.dispose(leftMember, rightMember, product);
  }
  heap.dispose(left, right);
  return out;
});

const unsupportedBroadcast = (a: TensorInfo, b: TensorInfo) =>
  new Error(
    `BatchMatMul on wasm: batch shapes [${a.shape.slice(0, -2)}] and [${b.shape.slice(0, -2)}] broadcast; ` +
      "supported are equal batch shapes, or a single matrix on one side",
  );
