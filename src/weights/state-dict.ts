/**
 * State-dict files in either exchange format, told apart by their bytes: a PyTorch checkpoint
 * (`.pth`/`.pt`, a zip) or `.safetensors`. Tensors are in torchvision's layouts (OIHW, [out, in]).
 */
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import { InputError } from "../util/input-error.js";
import { fileSource, type ByteSource } from "./byte-source.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "./safetensors.js";
import { decodeTorchCheckpoint, encodeTorchCheckpoint } from "./torch-checkpoint.js";
import { isZip } from "./zip.js";

export type StateDict = ReadonlyMap<string, NamedTensor>;

/** The pickle protocol's first bytes: torch.save before 1.6 (or `_use_new_zipfile_serialization=False`). */
const isLegacyPickle = (bytes: Uint8Array) => bytes[0] === 0x80 && bytes[1] !== undefined && bytes[1] <= 5;

/** The file's tensors; each one's bytes are read from the file when its values are asked for. */
export function readStateDict(path: string): StateDict {
  let source: ByteSource;
  let start: Uint8Array;
  try {
    source = fileSource(path);
    start = source.read(0, Math.min(4, source.size));
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`cannot read weights ${path}: ${code === "ENOENT" ? "no such file" : String((error as Error).message ?? error)}`);
  }
  if (isZip(start)) return decodeTorchCheckpoint(source);
  if (isLegacyPickle(start))
    throw new InputError(`${path}: a PyTorch file in the pre-1.6 format; re-save it with torch.save(torch.load(f), f) in PyTorch ≥ 1.6`);
  return decodeSafetensors(source).tensors;
}

/** Written as a torch checkpoint or safetensors, by the file's extension. */
export function writeStateDict(path: string, tensors: StateDict): void {
  const extension = extname(path).toLowerCase();
  if (extension === ".safetensors") writeFileSync(path, encodeSafetensors(tensors, { format: "pt" }));
  else if (extension === ".pth" || extension === ".pt") writeFileSync(path, encodeTorchCheckpoint(tensors));
  else throw new InputError(`${path}: write weights as .pth, .pt or .safetensors`);
}

const halfToFloat = (bits: number) => {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
};

/** A tensor's values as float32 (bfloat16 is float32's upper half; float64 rounds to nearest). */
export function float32Values(tensor: NamedTensor): Float32Array {
  switch (tensor.dtype) {
    case "F64":
      return Float32Array.from(tensor.data as Float64Array);
    case "F32":
      return tensor.data as Float32Array;
    case "F16":
      return Float32Array.from(tensor.data as Uint16Array, halfToFloat);
    case "BF16":
      return new Float32Array(Uint32Array.from(tensor.data as Uint16Array, (bits) => bits << 16).buffer);
    case "I32":
      return Float32Array.from(tensor.data as Int32Array);
    case "I64":
      return Float32Array.from(tensor.data as BigInt64Array, Number);
  }
}

/** An integer tensor's values as int32 (`num_batches_tracked` is int64 in torch, int32 in tfjs). */
export function int32Values(tensor: NamedTensor): Int32Array {
  if (tensor.dtype === "I64") return Int32Array.from(tensor.data as BigInt64Array, (value) => Number(value));
  if (tensor.dtype === "I32") return tensor.data as Int32Array;
  return Int32Array.from(float32Values(tensor), Math.round);
}
