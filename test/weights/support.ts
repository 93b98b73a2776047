/** Shared by the weights tests: fixtures, .npy reading and comparison. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { RgbImage } from "../../src/data/dataset.js";

export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/weights/${name}`, import.meta.url));

/** A little-endian float32 .npy as np.save writes it (version 1.0). */
export function readNpy(path: string): { shape: number[]; values: Float32Array } {
  const bytes = readFileSync(path);
  const headerLength = bytes.readUInt16LE(8);
  const header = bytes.toString("latin1", 10, 10 + headerLength);
  if (!header.includes("'<f4'")) throw new Error(`${path}: not float32`);
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(",").filter((s) => s.trim()).map(Number);
  return { shape, values: new Float32Array(Uint8Array.prototype.slice.call(bytes, 10 + headerLength).buffer) };
}

/** make_weight_goldens.py's image: pixel (y, x, c) = (7x + 13y + 29c) mod 256. */
export function formulaImage(size = 64): RgbImage {
  const data = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = (7 * x + 13 * y + 29 * c) % 256;
  return { width: size, height: size, data };
}

/** max |actual − expected| relative to max |expected|. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  let difference = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    difference = Math.max(difference, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return difference / scale;
}
