/**
 * The inner loops XNNPACK has no operator for (a depthwise filter's gradient, scatter-adds), as a
 * tiny WebAssembly SIMD module that shares the backend's memory: four floats per instruction, where
 * the same loop in JavaScript over the heap runs about ten times slower. The module is assembled
 * here, byte by byte, rather than shipped as a binary.
 */
import type { WasmHeap } from "./heap.js";

export interface SimdLoops {
  /**
   * For each of `count` rows r: sums[r·sumsStep + c] += a[r·aStep + c] · b[r·bStep + c] for
   * c < channels. Positions are float indices into the heap (see `WasmHeap.offset`); a step of 0
   * reuses a row (as sums, accumulates every row into one).
   */
  multiplyAccumulateRows(sums: number, sumsStep: number, a: number, aStep: number, b: number, bStep: number, channels: number, count: number): void;
  /** For each of `count` rows r: sums[r·sumsStep + c] += a[r·aStep + c] for c < channels. */
  accumulateRows(sums: number, sumsStep: number, a: number, aStep: number, channels: number, count: number): void;
}

// The WebAssembly binary format: https://webassembly.github.io/spec/core/binary/
const I32 = 0x7f;
const op = {
  block: 0x02, loop: 0x03, br: 0x0c, brIf: 0x0d, end: 0x0b, void: 0x40,
  localGet: 0x20, localSet: 0x21,
  f32Load: 0x2a, f32Store: 0x38, i32Const: 0x41,
  i32Eqz: 0x45, i32GeU: 0x4f, i32Add: 0x6a, i32Sub: 0x6b, i32And: 0x71, i32Shl: 0x74,
  f32Add: 0x92, f32Mul: 0x94,
} as const;
const simd = { v128Load: [0xfd, 0x00], v128Store: [0xfd, 0x0b], f32x4Add: [0xfd, 0xe4, 0x01], f32x4Mul: [0xfd, 0xe6, 0x01] } as const;

const unsigned = (value: number): number[] => {
  const bytes: number[] = [];
  do {
    const low = value & 0x7f;
    value >>>= 7;
    bytes.push(value ? low | 0x80 : low);
  } while (value);
  return bytes;
};
const signed = (value: number): number[] => {
  const bytes: number[] = [];
  for (;;) {
    const low = value & 0x7f;
    value >>= 7;
    if ((value === 0 && !(low & 0x40)) || (value === -1 && low & 0x40)) return [...bytes, low];
    bytes.push(low | 0x80);
  }
};
const text = (name: string) => [...unsigned(name.length), ...new TextEncoder().encode(name)];
const vector = (items: number[][]) => [...unsigned(items.length), ...items.flat()];
const section = (id: number, content: number[]) => [id, ...unsigned(content.length), ...content];

const get = (local: number) => [op.localGet, local];
const set = (local: number, ...value: number[]) => [...value, op.localSet, local];
const constant = (value: number) => [op.i32Const, ...signed(value)];
/** `local <<= 2`: float index → byte address. */
const toBytes = (local: number) => set(local, ...get(local), ...constant(2), op.i32Shl);
const plus = (local: number, ...amount: number[]) => set(local, ...get(local), ...amount, op.i32Add);
/** while (index < end) { body; index += step } */
const loopUpTo = (index: number, end: number, step: number, body: number[]) => [
  op.block, op.void, op.loop, op.void,
  ...get(index), ...get(end), op.i32GeU, op.brIf, 1,
  ...body, ...plus(index, ...constant(step)), op.br, 0,
  op.end, op.end,
];
const address = (base: number, index: number) => [...get(base), ...get(index), op.i32Add];
const vectorAt = (base: number, index: number) => [...address(base, index), ...simd.v128Load, 0, 0];
const floatAt = (base: number, index: number) => [...address(base, index), op.f32Load, 2, 0];

/**
 * The body of a rows loop. Parameters: `pointers` [row pointer, step] pairs (the first is the
 * sums), then channels, then count; locals after them: index, vector end, end (in bytes).
 * `vectorTerm` / `floatTerm` push what is added at the index in that local.
 */
function rowsLoop(pointers: number, vectorTerm: (index: number) => number[], floatTerm: (index: number) => number[]): number[] {
  const channels = 2 * pointers;
  const count = channels + 1;
  const [index, vectorEnd, end] = [count + 1, count + 2, count + 3];
  const sums = 0;
  const body = [
    ...Array.from({ length: 2 * pointers }, (_, local) => toBytes(local)).flat(),
    ...set(end, ...get(channels), ...constant(2), op.i32Shl),
    ...set(vectorEnd, ...get(channels), ...constant(-4), op.i32And, ...constant(2), op.i32Shl),
    op.block, op.void, op.loop, op.void,
    ...get(count), op.i32Eqz, op.brIf, 1,
    ...set(index, ...constant(0)),
    ...loopUpTo(index, vectorEnd, 16, [...address(sums, index), ...vectorAt(sums, index), ...vectorTerm(index), ...simd.f32x4Add, ...simd.v128Store, 0, 0]),
    ...loopUpTo(index, end, 4, [...address(sums, index), ...floatAt(sums, index), ...floatTerm(index), op.f32Add, op.f32Store, 2, 0]),
    ...Array.from({ length: pointers }, (_, p) => plus(2 * p, ...get(2 * p + 1))).flat(),
    ...set(count, ...get(count), ...constant(1), op.i32Sub),
    op.br, 0, op.end, op.end,
    op.end,
  ];
  return [...vector([[3, I32]]), ...body];
}

/** The module, importing the backend's memory as it is: shared (the threaded build) or not. */
function assemble(sharedMemory: boolean): Uint8Array<ArrayBuffer> {
  // multiplyAccumulateRows(sums, sumsStep, a, aStep, b, bStep, channels, count); accumulateRows(sums, sumsStep, a, aStep, channels, count)
  const multiplyAccumulate = rowsLoop(
    3,
    (index) => [...vectorAt(2, index), ...vectorAt(4, index), ...simd.f32x4Mul],
    (index) => [...floatAt(2, index), ...floatAt(4, index), op.f32Mul],
  );
  const accumulate = rowsLoop(2, (index) => vectorAt(2, index), (index) => floatAt(2, index));
  const signature = (parameters: number) => [0x60, ...vector(Array.from({ length: parameters }, () => [I32])), 0];
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector([signature(8), signature(6)])),
    ...section(2, vector([[...text("env"), ...text("memory"), 0x02, ...(sharedMemory ? [0x03, ...unsigned(1), ...unsigned(65536)] : [0x00, ...unsigned(1)])]])),
    ...section(3, vector([[0], [1]])),
    ...section(7, vector([[...text("multiplyAccumulateRows"), 0x00, 0], [...text("accumulateRows"), 0x00, 1]])),
    ...section(10, vector([multiplyAccumulate, accumulate].map((body) => [...unsigned(body.length), ...body]))),
  ]);
}

const instances = new WeakMap<WebAssembly.Memory, SimdLoops>();

/** The loops, on the memory of `heap`'s backend (one instance per backend memory). */
export function simdLoops(heap: WasmHeap): SimdLoops {
  const memory = (heap.backend.wasm as unknown as { asm: { memory: WebAssembly.Memory } }).asm.memory;
  let loops = instances.get(memory);
  if (!loops) {
    const module = new WebAssembly.Module(assemble(typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer));
    loops = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SimdLoops;
    instances.set(memory, loops);
  }
  return loops;
}
