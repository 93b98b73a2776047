/** Shared by the detection tests: backends, torchvision goldens, layout conversion, comparisons. */
import { readFileSync } from "node:fs";
import { expect } from "vitest";
import { selectBackend } from "../../src/engine/backend.js";
import type { EngineChoice } from "../../src/engine/engines.js";

const nativeEngine = await selectBackend("tensorflow").then(
  () => true,
  () => false,
);

/**
 * The backends the detection code must agree on: WASM (the CPU training path without a native
 * engine), the reference cpu, and TensorFlow's C library where it is installed.
 */
export const BACKENDS: readonly EngineChoice[] = ["wasm", "cpu", ...(nativeEngine ? (["tensorflow"] as const) : [])];

/** The one backend for a test too heavy for all three: the native engine, else WASM (the product's own fallback). */
export const FASTEST_BACKEND: EngineChoice = nativeEngine ? "tensorflow" : "wasm";

/** Sets the backend up as the product does: our kernels and gradients registered. */
export async function useBackend(name: EngineChoice): Promise<void> {
  await selectBackend(name);
}

/** A JSON file written by test/fixtures/detection/make_detection_goldens.py. */
export function golden<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`../fixtures/detection/${name}.json`, import.meta.url), "utf8")) as T;
}

/** Reorders flat NCHW values (torchvision) into NHWC (TensorFlow.js). */
export function nchwToNhwc(values: readonly number[], [n, c, h, w]: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  for (let b = 0; b < n!; b++)
    for (let ch = 0; ch < c!; ch++)
      for (let y = 0; y < h!; y++)
        for (let x = 0; x < w!; x++) {
          out[((b * h! + y) * w! + x) * c! + ch] = values[((b * c! + ch) * h! + y) * w! + x]!;
        }
  return out;
}

/** Every element within `tolerance` of the golden (reports the worst element on failure). */
export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let worstAt = -1;
  for (let i = 0; i < expected.length; i++) {
    const difference = Math.abs(actual[i]! - expected[i]!);
    if (!(difference <= worst)) {
      worst = difference;
      worstAt = i;
    }
  }
  expect(worst, `element ${worstAt}: ${actual[worstAt]} vs ${expected[worstAt]}`).toBeLessThanOrEqual(tolerance);
}

export const flat = (rows: readonly (readonly number[])[]): number[] => rows.flat();
