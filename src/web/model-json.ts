/**
 * The web export's weights, in TensorFlow.js's own format: a `model.json` whose `weightsManifest`
 * lists every variable (torchvision state-dict name, TensorFlow.js layout) and the binary shards
 * that hold them, which `tf.io.loadWeights` reads. Beside the manifest, the checked spec the
 * detector is built from. Pure: bytes in memory, written to disk by the CLI.
 */
import type * as tf from "@tensorflow/tfjs";
import type { DetectorSpec } from "../check/detector-spec.js";
import type { NamedTensor } from "../weights/safetensors.js";

/** `model.json`'s `format`: what says this file is a detc detector, not a tfjs graph or layers model. */
export const WEB_MODEL_FORMAT = "detc-detector";

/**
 * float32 as trained; float16 halves the download and rounds every weight to 11 significant bits
 * (relative error at most 2^-11 ≈ 4.9e-4), which TensorFlow.js widens back to float32 on load.
 */
export const WEB_DTYPES = ["float32", "float16"] as const;
export type WebDtype = (typeof WEB_DTYPES)[number];

/** TensorFlow.js's converter splits weights into files of this size, which browsers cache well. */
export const SHARD_BYTES = 4 * 1024 * 1024;

export interface WebModelJson {
  readonly format: typeof WEB_MODEL_FORMAT;
  readonly generatedBy: string;
  readonly spec: DetectorSpec;
  readonly weightsManifest: tf.io.WeightsManifestConfig;
}

export interface WebModelFiles {
  readonly modelJson: WebModelJson;
  /** File names relative to model.json, in the order of the manifest's `paths`. */
  readonly shards: readonly { readonly file: string; readonly bytes: Uint8Array }[];
}

/** The IEEE 754 half-precision bits nearest to `value` (round to nearest even, overflow to ±Infinity). */
export function float16Bits(value: number): number {
  const f32 = new Float32Array([value]);
  const bits = new Uint32Array(f32.buffer)[0] ?? 0;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    // Subnormal half (or zero): shift the implicit 1 in and round what falls off.
    if (halfExponent < -10) return sign;
    const full = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShift(full, shift);
  }
  // Rounding may carry into the exponent, which is exactly the next representable value.
  return sign | ((halfExponent << 10) + roundShift(mantissa, 13));
}

/** `value >> shift`, rounded to nearest, ties to even. */
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

function encodeTensor(tensor: NamedTensor, dtype: WebDtype): { entry: Omit<tf.io.WeightsManifestEntry, "name">; bytes: Uint8Array } {
  const shape = [...tensor.shape];
  if (tensor.dtype === "I32") {
    const data = Int32Array.from(tensor.data as Int32Array);
    return { entry: { shape, dtype: "int32" }, bytes: new Uint8Array(data.buffer) };
  }
  if (tensor.dtype !== "F32") throw new Error(`the web export holds float32 and int32 tensors, not ${tensor.dtype}`);
  if (dtype === "float32") {
    const data = Float32Array.from(tensor.data as Float32Array);
    return { entry: { shape, dtype: "float32" }, bytes: new Uint8Array(data.buffer) };
  }
  const half = Uint16Array.from(tensor.data as Float32Array, float16Bits);
  return { entry: { shape, dtype: "float32", quantization: { dtype: "float16" } }, bytes: new Uint8Array(half.buffer) };
}

/** model.json and its shards for a detector's variables (by state-dict name, in TensorFlow.js layouts). */
export function encodeWebModel(
  spec: DetectorSpec,
  tensors: ReadonlyMap<string, NamedTensor>,
  dtype: WebDtype,
  shardBytes = SHARD_BYTES,
): WebModelFiles {
  const weights: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  for (const [name, tensor] of tensors) {
    const { entry, bytes } = encodeTensor(tensor, dtype);
    weights.push({ name, ...entry });
    parts.push(bytes);
  }
  const all = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    all.set(part, offset);
    offset += part.length;
  }
  // As TensorFlow.js's converter does: one group, cut into shards regardless of tensor boundaries.
  const count = Math.max(1, Math.ceil(all.length / shardBytes));
  const shards = Array.from({ length: count }, (_, i) => ({
    file: `group1-shard${i + 1}of${count}.bin`,
    bytes: all.subarray(i * shardBytes, Math.min(all.length, (i + 1) * shardBytes)),
  }));
  return {
    modelJson: {
      format: WEB_MODEL_FORMAT,
      generatedBy: "detc export --format web",
      spec,
      weightsManifest: [{ paths: shards.map((shard) => shard.file), weights }],
    },
    shards,
  };
}
