/**
 * The engines detc can run on, fastest first. Kept apart from backend.ts (which loads
 * TensorFlow.js) so the CLI can name them without paying for loading one.
 */
export type EngineChoice = "auto" | "tensorflow" | "wasm" | "cpu";
export type EngineName = "tensorflow-gpu" | "tensorflow" | "wasm" | "cpu";

/** Fastest first: the order `auto` tries them in. */
export const ENGINES: readonly EngineName[] = ["tensorflow-gpu", "tensorflow", "wasm", "cpu"];

export const ENGINE_CHOICES: readonly EngineChoice[] = ["auto", "tensorflow", "wasm", "cpu"];

/** The npm package that provides each engine. */
export const ENGINE_PACKAGES: Readonly<Record<EngineName, string>> = {
  "tensorflow-gpu": "@tensorflow/tfjs-node-gpu",
  tensorflow: "@tensorflow/tfjs-node",
  wasm: "@tensorflow/tfjs-backend-wasm",
  cpu: "@tensorflow/tfjs",
};

export function isEngineChoice(value: string): value is EngineChoice {
  return (ENGINE_CHOICES as readonly string[]).includes(value);
}

/**
 * Whether `error` is the WASM engine out of memory: wasm32 addresses 4 GB, and past it an
 * allocation aborts ("OOM") or a kernel faults ("memory access out of bounds").
 */
export function isWasmOutOfMemory(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /memory access out of bounds|Aborted\(OOM\)|Cannot enlarge memory/.test(message);
}

export const WASM_OUT_OF_MEMORY_HINT =
  "the WASM engine ran out of memory (WebAssembly addresses 4 GB): lower `train batch_size` or `input`, " +
  "or install a native engine (`detc doctor` says how); a training run continues from its last checkpoint with --resume";
