/**
 * Chooses the TensorFlow.js engine the model code runs on. Model code only ever imports
 * `@tensorflow/tfjs`; this module decides which backend sits under it and says why the
 * faster ones were not taken.
 */
import * as tf from "@tensorflow/tfjs";
import { ENGINES, ENGINE_PACKAGES, type EngineChoice, type EngineName } from "./engines.js";
import { createRequire as requireFrom } from "node:module"; // not `createRequire`: the dist bundle's banner declares that name
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describeHugePages, hugePages, hugePagesFactsHere, poolsCpuMemory } from "./huge-pages.js";
import { loadMemoryHelper, type MemoryHelper } from "./memory-helper.js";
import { registerOps } from "./ops/index.js";
import { withStderrSilenced } from "./quiet-load.js";
import { registerWasmKernels } from "./wasm-kernels/index.js";

const CANDIDATES: Readonly<Record<EngineChoice, readonly EngineName[]>> = {
  auto: ENGINES,
  tensorflow: ["tensorflow-gpu", "tensorflow"],
  wasm: ["wasm"],
  cpu: ["cpu"],
};

export interface EngineAttempt {
  readonly engine: EngineName;
  /** `skipped`: not loaded, because the choice excluded it or a faster engine was already taken. */
  readonly outcome: "active" | "failed" | "skipped";
  /** Why it is not active; for the active engine, what it runs (versions, SIMD, threads). */
  readonly detail: string;
  /** Set when a load failed because the package is absent, so callers can tell "install it" from "fix it". */
  readonly missingPackage?: boolean;
}

export interface BackendSelection {
  readonly choice: EngineChoice;
  readonly engine: EngineName;
  /** `tf.getBackend()`: both native engines register as `tensorflow`. */
  readonly backend: string;
  /** One entry per engine, in {@link ENGINES} order. */
  readonly attempts: readonly EngineAttempt[];
}

export class EngineUnavailableError extends Error {
  constructor(readonly choice: EngineChoice, readonly attempts: readonly EngineAttempt[]) {
    const failed = attempts.filter((a) => a.outcome === "failed").map((a) => `${a.engine}: ${a.detail}`);
    super(`engine "${choice}" is not available (${failed.join("; ")}); \`detc doctor\` lists the fixes`);
    this.name = "EngineUnavailableError";
  }
}

const requireHere = requireFrom(import.meta.url);

class MissingPackage extends Error {}

async function importOptional(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      if (String((error as Error).message).includes(specifier)) throw new MissingPackage(`${specifier} is not installed`);
    }
    throw error;
  }
}

/** The tfjs-core file that `@tensorflow/tfjs`, as resolved from `fromFile`, runs on. */
export function tfjsCoreBehind(fromFile: string): string {
  const tfjsMain = requireFrom(fromFile).resolve("@tensorflow/tfjs");
  return requireFrom(tfjsMain).resolve("@tensorflow/tfjs-core");
}

/** A native engine's package, loaded with TensorFlow's start-up log lines kept off stderr. */
function requireNative(specifier: string, quiet: boolean): void {
  try {
    if (quiet) withStderrSilenced(() => requireHere(specifier));
    else requireHere(specifier);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "MODULE_NOT_FOUND" && String((error as Error).message).includes(specifier)) throw new MissingPackage(`${specifier} is not installed`);
    throw error;
  }
}

async function loadNative(engine: "tensorflow-gpu" | "tensorflow"): Promise<string> {
  const specifier = ENGINE_PACKAGES[engine];
  // TensorFlow's notices are not ours to print, unless the user asks for them with TF_CPP_MIN_LOG_LEVEL=0 or 1.
  const quiet = !(Number(process.env.TF_CPP_MIN_LOG_LEVEL ?? 2) < 2);
  process.env.TF_CPP_MIN_LOG_LEVEL ??= "2";
  // TensorFlow's best-fit pool or its default allocator, by the pages its malloc gets. Read when
  // the first op runs, so set before.
  const pages = hugePages(hugePagesFactsHere());
  process.env.TF_CPU_ALLOCATOR_USE_BFC ??= String(poolsCpuMemory(pages));
  // TensorFlow's CPU CropAndResizeGradImage (RoIAlign's backward) adds the boxes' gradients into
  // the feature maps from several threads without synchronisation, and now and then loses some
  // (an element off by 3 in one run of three; test/detection/roi-align.test.ts). Determinism makes
  // it one thread; no step got slower, and native runs repeat to the bit (docs/engines.md). The
  // GPU kernel adds atomically and has no deterministic version, so it is left alone there.
  if (engine === "tensorflow") process.env.TF_DETERMINISTIC_OPS ??= "1";
  const helper = pageRelease();
  const releasing = typeof helper === "object" && startReleasingCode(helper);
  try {
    requireNative(specifier, quiet);
  } finally {
    if (releasing) stopReleasingCode(helper);
  }
  const pagesKept = typeof helper === "object" ? releaseStartUpPages(helper) : helper;
  const smallPages = describeHugePages(pages);
  // tfjs-node registers its backend on the tfjs-core it resolves itself: a second copy would put
  // the backend, kernels and tensor classes where detc's `@tensorflow/tfjs` does not look.
  const theirs = tfjsCoreBehind(requireHere.resolve(specifier));
  const ours = tfjsCoreBehind(fileURLToPath(import.meta.url));
  if (theirs !== ours) throw new Error(`${specifier} runs on another copy of @tensorflow/tfjs-core (${theirs}); run \`npm dedupe\``);
  if (!(await tf.setBackend("tensorflow"))) throw new Error("the tensorflow backend failed to initialise");
  const binding = (tf.backend() as { binding?: { TF_Version?: string } }).binding;
  const notes = [pagesKept, smallPages].filter(Boolean).map((note) => `; ${note}`).join("");
  return `TensorFlow ${binding?.TF_Version ?? "(unknown version)"} C library${notes}`;
}

const staysResident = "start-up pages stay resident (about 250 MB more memory)";

/**
 * Loading libtensorflow reads some 250 MB of it once (relocations, the static initialisers that
 * register its kernels), and those pages would stay resident for the whole run. The memory helper
 * hands them back: they are clean copies of the file, read back if ever used. It needs nothing of
 * libtensorflow, so it is loaded first. Returns it, or why not (nothing off Linux).
 */
function pageRelease(): MemoryHelper | string | undefined {
  if (process.platform !== "linux") return undefined;
  const helper = loadMemoryHelper();
  return typeof helper === "string" ? `${staysResident}: ${helper}` : helper;
}

/**
 * While libtensorflow loads, a thread of the helper hands back its code pages every 20 ms, which
 * the static initialisers run once each: loading the engine peaks ~85 MB lower (~300 MB, not
 * ~390) for 0.1–0.3 s more (docs/engines.md). Whether it started: if not, the release after
 * loading does it all.
 */
function startReleasingCode(helper: MemoryHelper): boolean {
  try {
    helper.startReleasingCode("libtensorflow");
    return true;
  } catch {
    return false;
  }
}

/** Stops the thread; its error (madvise refused) is the full release's too, and reported there. */
function stopReleasingCode(helper: MemoryHelper): void {
  try {
    helper.stopReleasingCode();
  } catch {
    // a failed load's own error is the one to report, and a working one still gets the full release
  }
}

/** Once loaded, every start-up page goes back. Returns why not, when it cannot. */
function releaseStartUpPages(helper: MemoryHelper): string | undefined {
  try {
    helper.releaseFilePages("libtensorflow");
    return undefined;
  } catch (error) {
    return `${staysResident}: ${(error as Error).message}`;
  }
}

let wasmPathsSet = false;

async function loadWasm(): Promise<string> {
  const wasm = (await importOptional(ENGINE_PACKAGES.wasm)) as typeof import("@tensorflow/tfjs-backend-wasm");
  if (!wasmPathsSet) {
    // In Node the .wasm files are read from disk, next to the package's main file.
    wasm.setWasmPaths(join(dirname(requireHere.resolve(ENGINE_PACKAGES.wasm)), "/"));
    wasmPathsSet = true;
  }
  if (!(await tf.setBackend("wasm"))) throw new Error("the wasm backend failed to initialise");
  registerWasmKernels(); // the gradients wasm lacks, and faster products: without them it cannot train
  const simd = await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT");
  const threads = wasm.getThreadsCount();
  return `${simd ? "SIMD" : "no SIMD"}, ${threads} thread${threads === 1 ? "" : "s"}`;
}

async function loadCpu(): Promise<string> {
  // Without it, tfjs prints a banner on first use asking to install tfjs-node: `detc doctor` says that, with the how.
  tf.enableProdMode();
  if (!(await tf.setBackend("cpu"))) throw new Error("the cpu backend failed to initialise");
  return "pure JavaScript: fine for checks and tests, too slow to train";
}

const LOADERS: Readonly<Record<EngineName, () => Promise<string>>> = {
  "tensorflow-gpu": () => loadNative("tensorflow-gpu"),
  tensorflow: () => loadNative("tensorflow"),
  wasm: loadWasm,
  cpu: loadCpu,
};

/**
 * Makes the fastest engine allowed by `choice` the active tfjs backend. `auto` never fails
 * (cpu is always there); a forced engine that cannot load throws {@link EngineUnavailableError}.
 */
export async function selectBackend(choice: EngineChoice = "auto"): Promise<BackendSelection> {
  registerOps();
  const candidates = CANDIDATES[choice];
  const attempts: EngineAttempt[] = [];
  let taken: EngineName | undefined;
  for (const engine of ENGINES) {
    if (!candidates.includes(engine)) {
      attempts.push({ engine, outcome: "skipped", detail: `not tried: engine "${choice}" was asked for` });
    } else if (taken) {
      attempts.push({ engine, outcome: "skipped", detail: `not needed: ${taken} is active` });
    } else {
      try {
        attempts.push({ engine, outcome: "active", detail: await LOADERS[engine]() });
        taken = engine;
      } catch (error) {
        const detail = String((error as Error).message ?? error).split("\n")[0]!;
        attempts.push({ engine, outcome: "failed", detail, ...(error instanceof MissingPackage && { missingPackage: true }) });
      }
    }
  }
  if (!taken) throw new EngineUnavailableError(choice, attempts);
  return { choice, engine: taken, backend: tf.getBackend(), attempts };
}
