/**
 * The native engine's memory helper (src/engine/native/memory-helper.c), which
 * src/engine/install-engine.mjs builds into tfjs-node's deps folder. Found without loading
 * TensorFlow.js or libtensorflow, so the CLI can use it before anything else loads.
 */
import { existsSync } from "node:fs";
import { createRequire as requireFrom } from "node:module"; // not `createRequire`: the dist bundle's banner declares that name
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ENGINE_PACKAGES } from "./engines.js";

export interface MemoryHelper {
  releaseFilePages(pathPart: string): number;
  startReleasingCode(pathPart: string): void;
  stopReleasingCode(): number;
  /** execve: runs `file` in this process instead; returns only by throwing. */
  restartWithEnvironment(file: string, args: readonly string[], environment: readonly string[]): never;
}

/** Where src/engine/install-engine.mjs puts the helper (it builds it under this name). */
export const MEMORY_HELPER_NAME = "detc-memory-helper.node";

const requireHere = requireFrom(import.meta.url);

/** The helper, or why there is none (a sentence); nothing off Linux or without tfjs-node. */
export function loadMemoryHelper(): MemoryHelper | string {
  if (process.platform !== "linux") return `the memory helper is for Linux, not ${process.platform}`;
  let helper: string;
  try {
    helper = join(dirname(requireHere.resolve(`${ENGINE_PACKAGES.tensorflow}/package.json`)), "deps", MEMORY_HELPER_NAME);
  } catch {
    return `${ENGINE_PACKAGES.tensorflow} is not installed`;
  }
  if (!existsSync(helper)) return `${helper} is not built (the engine set-up builds it: \`node ${setupScriptPath()}\`)`;
  try {
    return requireHere(helper) as MemoryHelper;
  } catch (error) {
    return String((error as Error).message).split("\n")[0]!;
  }
}

/** The set-up script, found upwards from this module (src/engine/ in development, a dist/ bundle when built). */
export function setupScriptPath(): string {
  const relative = join("src", "engine", "install-engine.mjs");
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, relative))) return join(dir, relative);
    if (dirname(dir) === dir) return relative;
  }
}
