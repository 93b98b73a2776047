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
