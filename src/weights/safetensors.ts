/**
 * The safetensors format (huggingface/safetensors): an 8-byte little-endian header length, a JSON
 * header `{name: {dtype, shape, data_offsets}, "__metadata__": {…}}`, then raw little-endian
 * tensor bytes. Simple, safe to read (no code), and loadable by PyTorch for the weights exchange.
 */

import { InputError } from "../util/input-error.js";
import type { ByteSource } from "./byte-source.js";

export type Dtype = "F64" | "F32" | "F16" | "BF16" | "I64" | "I32";

export interface NamedTensor {
  readonly dtype: Dtype;
  readonly shape: readonly number[];
  /** The values; a tensor decoded from a file reads them from it on each access (see {@link lazyTensor}). */
  readonly data: Float64Array | Float32Array | Int32Array | BigInt64Array | Uint16Array;
}

/**
 * A tensor whose values are read when asked for, and not kept: loading a file then holds one
 * tensor's bytes at a time. Read `data` once per use.
 */
export function lazyTensor(dtype: Dtype, shape: readonly number[], read: () => NamedTensor["data"]): NamedTensor {
  return {
    dtype,
    shape,
    get data() {
      return read();
    },
  };
}

export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, NamedTensor>;
  readonly metadata: Readonly<Record<string, string>>;
}

export class SafetensorsError extends InputError {}

const BYTES: Record<Dtype, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4 };

/** The typed array holding a tensor's values, over little-endian bytes. */
/** `count` elements of `dtype` at `byteOffset` in `buffer` (all of it by default), viewed, not copied. */
export function typedArray(dtype: Dtype, buffer: ArrayBufferLike, byteOffset = 0, count?: number): NamedTensor["data"] {
  if (dtype === "F64") return new Float64Array(buffer, byteOffset, count);
  if (dtype === "F32") return new Float32Array(buffer, byteOffset, count);
  if (dtype === "I32") return new Int32Array(buffer, byteOffset, count);
  if (dtype === "I64") return new BigInt64Array(buffer, byteOffset, count);
  return new Uint16Array(buffer, byteOffset, count);
}

export function encodeSafetensors(tensors: ReadonlyMap<string, NamedTensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    const length = t.data.byteLength;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + length] };
    offset += length;
  }
  // Pad the header with spaces to 8 bytes so tensor data is aligned, as the reference writer does.
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let position = 8 + headerBytes.length;
  for (const name of names) {
    const data = tensors.get(name)!.data;
    Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(out, position);
    position += data.byteLength;
  }
  return out;
}

/** The header, checked against the file's size; each tensor's bytes are read when asked for. */
export function decodeSafetensors(source: ByteSource): SafetensorsFile {
  const file = source.name;
  if (source.size < 8) throw new SafetensorsError(`${file}: too short to be a safetensors file`);
  const headerLength = Number(Buffer.from(source.read(0, 8).buffer).readBigUInt64LE(0));
  if (headerLength > source.size - 8) throw new SafetensorsError(`${file}: header length ${headerLength} exceeds the file (truncated?)`);
  let header: Record<string, { dtype: Dtype; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(Buffer.from(source.read(8, headerLength).buffer).toString("utf8"));
  } catch {
    throw new SafetensorsError(`${file}: the header is not valid JSON (not a safetensors file, or corrupt)`);
  }
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, NamedTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in BYTES))
      throw new SafetensorsError(`${file}: tensor ${name} is ${dtype}, which detc does not read (F64, F32, F16, BF16, I64 and I32 are read)`);
    if (!Array.isArray(shape) || !shape.every((extent) => Number.isInteger(extent) && extent >= 0) || !Array.isArray(data_offsets))
      throw new SafetensorsError(`${file}: tensor ${name} has a malformed shape or byte range in the header (corrupt file)`);
    const [begin, end] = data_offsets;
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype] || dataStart + end > source.size)
      throw new SafetensorsError(`${file}: tensor ${name} [${shape}] ${dtype} does not fit its byte range (corrupt or truncated)`);
    tensors.set(name, lazyTensor(dtype, shape, () => typedArray(dtype, source.read(dataStart + begin, end - begin).buffer)));
  }
  return { tensors, metadata };
}
