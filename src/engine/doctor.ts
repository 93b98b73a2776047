/**
 * `detc doctor`: which engine runs and, for each faster one that does not, why and the exact fix.
 * `collectEngineFacts` looks at the machine (it loads an engine); `doctorReport` and
 * `renderDoctorReport` only turn those facts into the report, so every case can be tested.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { createRequire as requireFrom } from "node:module"; // not `createRequire`: the dist bundle's banner declares that name
import { delimiter, dirname, join } from "node:path";
import { selectBackend, type BackendSelection, type EngineAttempt } from "./backend.js";
import { setupScriptPath } from "./memory-helper.js";
import { ENGINE_PACKAGES, ENGINES, type EngineName } from "./engines.js";

/** What src/engine/install-engine.mjs recorded in `@tensorflow/tfjs-node/deps/detc-engine.json`. */
export interface NativeSetup {
  readonly engine: "tensorflow" | "wasm";
  /** TensorFlow version of the native engine it set up. */
  readonly tensorflow?: string;
  readonly how: string;
  readonly at: string;
}

export interface GpuFacts {
  /** First line of /proc/driver/nvidia/version, or null without an NVIDIA driver. */
  readonly nvidiaDriver: string | null;
  /** Where the dynamic loader finds the CUDA 11 runtime and cuDNN 8 that TensorFlow 2.9 links. */
  readonly cudaRuntime: string | null;
  readonly cudnn: string | null;
}

export interface EngineFacts {
  readonly selection: BackendSelection;
  readonly machine: { readonly platform: string; readonly arch: string; readonly node: string; readonly cpus: number };
  /** Installed version of each engine's package, or null. */
  readonly installed: Readonly<Record<EngineName, string | null>>;
  readonly nativeSetup: NativeSetup | null;
  readonly gpu: GpuFacts;
  /** The command that (re)runs the install-time engine set-up. */
  readonly setupCommand: string;
}

export interface EngineStatus {
  readonly engine: EngineName;
  readonly package: string;
  readonly installed: string | null;
  readonly active: boolean;
  /** What the active engine runs; for the others, the outcome of trying it. */
  readonly detail: string;
  /** Why it is not active (absent for the active engine). */
  readonly reason?: string;
  /** Commands or steps that make it available; only for engines faster than the active one. */
  readonly fix?: string;
}

export interface DoctorReport {
  readonly engine: EngineName;
  readonly backend: string;
  readonly engines: readonly EngineStatus[];
  readonly machine: EngineFacts["machine"];
  readonly nativeSetup: NativeSetup | null;
}

/** tfjs-node(-gpu) 4.x is built on libtensorflow 2.9, and TensorFlow 2.9 on these. */
const GPU_STACK = "CUDA 11.2 and cuDNN 8.1 (what TensorFlow 2.9, the libtensorflow of tfjs-node-gpu 4.x, is built for)";
const GPU_PLATFORMS = ["linux-x64", "win32-x64"];

function gpuStatus(facts: EngineFacts, attempt: EngineAttempt): Pick<EngineStatus, "reason" | "fix"> {
  const { machine, gpu, installed } = facts;
  const platform = `${machine.platform}-${machine.arch}`;
  if (!GPU_PLATFORMS.includes(platform)) {
    return { reason: `tfjs-node-gpu has builds for ${GPU_PLATFORMS.join(" and ")} only, not ${platform}` };
  }
  const version = installed.cpu ?? "4"; // tfjs-node-gpu must match @tensorflow/tfjs
  const install =
    `npm install @tensorflow/tfjs-node-gpu@${version} && npm install-scripts approve @tensorflow/tfjs-node-gpu` +
    ` && npm rebuild @tensorflow/tfjs-node-gpu (its install script downloads the GPU libtensorflow 2.9.1: needs internet)`;
  const missingLibraries = [!gpu.cudaRuntime && "libcudart.so.11.0", !gpu.cudnn && "libcudnn.so.8"].filter(Boolean);
  const cuda = missingLibraries.length
    ? `install ${GPU_STACK} so the loader finds ${missingLibraries.join(" and ")} (ldconfig or LD_LIBRARY_PATH); then `
    : "";
  if (machine.platform === "linux" && !gpu.nvidiaDriver) {
    return {
      reason: "no NVIDIA GPU driver on this machine (no /proc/driver/nvidia/version)",
      fix: `needs an NVIDIA GPU and its driver, then ${GPU_STACK}; then ${install}`,
    };
  }
  if (attempt.missingPackage) return { reason: attempt.detail, fix: `${cuda}${install}` };
  return { reason: attempt.detail, fix: cuda ? `${cuda}npm rebuild @tensorflow/tfjs-node-gpu` : "npm rebuild @tensorflow/tfjs-node-gpu" };
}

function tensorflowStatus(facts: EngineFacts, attempt: EngineAttempt): Pick<EngineStatus, "reason" | "fix"> {
  const { nativeSetup, setupCommand } = facts;
  if (attempt.missingPackage) {
    return {
      reason: `${attempt.detail} (an optional dependency: left out, or dropped after its own download failed)`,
      fix: "npm install --include=optional, with an npm that honours package.json#allowScripts (npm 11.19 does, npm 10 does not)",
    };
  }
  if (nativeSetup?.engine === "wasm") {
    return {
      reason: `the install-time set-up found no native engine: ${nativeSetup.how}`,
      fix:
        "give this machine either internet access (tfjs-node downloads libtensorflow) or a pip index that has " +
        "tensorflow-cpu 2.9 or later (`python3 -m pip download --no-deps tensorflow-cpu` must work), plus python3, " +
        `a C++ compiler and make for node-gyp; then: ${setupCommand} --retry`,
    };
  }
  if (!nativeSetup) {
    return { reason: `${attempt.detail} (install scripts did not run, e.g. npm --ignore-scripts)`, fix: setupCommand };
  }
  return { reason: attempt.detail, fix: `${setupCommand} --retry` };
}

function wasmStatus(attempt: EngineAttempt): Pick<EngineStatus, "reason" | "fix"> {
  // A regular dependency with no build step: only a damaged install makes it fail.
  const fix = attempt.missingPackage ? "npm install" : "npm ci (reinstalls its .wasm files)";
  return { reason: attempt.detail, fix };
}

/** The doctor's report: the active engine, and every other engine with its reason and fix. */
export function doctorReport(facts: EngineFacts): DoctorReport {
  const { selection } = facts;
  const engines = selection.attempts.map((attempt): EngineStatus => {
    const base = {
      engine: attempt.engine,
      package: ENGINE_PACKAGES[attempt.engine],
      installed: facts.installed[attempt.engine],
      active: attempt.outcome === "active",
    };
    if (attempt.outcome === "active") {
      const how = attempt.engine === "tensorflow" && facts.nativeSetup?.engine === "tensorflow" ? `; ${facts.nativeSetup.how}` : "";
      return { ...base, detail: `${attempt.detail}${how}` };
    }
    // Skipped engines are slower than the active one or excluded by the choice: nothing to fix.
    if (attempt.outcome === "skipped") return { ...base, detail: attempt.detail, reason: attempt.detail };
    const status =
      attempt.engine === "tensorflow-gpu" ? gpuStatus(facts, attempt)
      : attempt.engine === "tensorflow" ? tensorflowStatus(facts, attempt)
      : attempt.engine === "wasm" ? wasmStatus(attempt)
      : { reason: attempt.detail };
    return { ...base, detail: attempt.detail, ...status };
  });
  return { engine: selection.engine, backend: selection.backend, engines, machine: facts.machine, nativeSetup: facts.nativeSetup };
}

/** Plain-text rendering for a terminal (the CLI may colour the marks). */
export function renderDoctorReport(report: DoctorReport): string {
  const active = report.engines.find((e) => e.active)!;
  const { platform, arch, node, cpus: cores } = report.machine;
  const lines = [`engine: ${report.engine} — ${active.detail}`, `machine: ${platform}-${arch}, Node ${node}, ${cores} cores`, ""];
  const width = Math.max(...report.engines.map((e) => e.engine.length));
  for (const status of report.engines) {
    const mark = status.active ? "✓" : status.fix ? "✗" : "·";
    const installed = status.installed ? `${status.package}@${status.installed}` : `${status.package} (not installed)`;
    lines.push(`${mark} ${status.engine.padEnd(width)}  ${installed}`);
    if (status.reason) lines.push(`    why: ${status.reason}`);
    if (status.fix) lines.push(`    fix: ${status.fix}`);
  }
  return `${lines.join("\n")}\n`;
}

// ---------------------------------------------------------------------------------------------
// facts from this machine

const requireHere = requireFrom(import.meta.url);

function installedVersion(pkg: string): string | null {
  try {
    return JSON.parse(readFileSync(requireHere.resolve(`${pkg}/package.json`), "utf8")).version;
  } catch {
    return null;
  }
}

/** What the install-time set-up recorded, or null when it never ran for this tfjs-node. */
export function readNativeSetup(): NativeSetup | null {
  try {
    const tfjsNode = dirname(requireHere.resolve(`${ENGINE_PACKAGES.tensorflow}/package.json`));
    return JSON.parse(readFileSync(join(tfjsNode, "deps", "detc-engine.json"), "utf8"));
  } catch {
    return null;
  }
}

/** Finds a shared library the way the dynamic loader would: LD_LIBRARY_PATH, then its cache. */
function findSharedLibrary(name: string): string | null {
  for (const dir of (process.env.LD_LIBRARY_PATH ?? "").split(delimiter).filter(Boolean)) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  for (const ldconfig of ["ldconfig", "/sbin/ldconfig"]) {
    const listing = spawnSync(ldconfig, ["-p"], { encoding: "utf8" });
    if (listing.status !== 0) continue;
    const line = listing.stdout.split("\n").find((l) => l.trim().startsWith(`${name} `));
    return line?.split("=>")[1]?.trim() ?? null;
  }
  return null;
}

function gpuFacts(): GpuFacts {
  if (process.platform !== "linux") return { nvidiaDriver: null, cudaRuntime: null, cudnn: null };
  let nvidiaDriver: string | null = null;
  try {
    nvidiaDriver = readFileSync("/proc/driver/nvidia/version", "utf8").split("\n")[0]!.trim();
  } catch {
    // no NVIDIA kernel driver loaded
  }
  return { nvidiaDriver, cudaRuntime: findSharedLibrary("libcudart.so.11.0"), cudnn: findSharedLibrary("libcudnn.so.8") };
}

/** Gathers the doctor's facts; selects the `auto` engine unless a selection is passed in. */
export async function collectEngineFacts(selection?: BackendSelection): Promise<EngineFacts> {
  const setupScript = setupScriptPath();
  return {
    selection: selection ?? (await selectBackend("auto")),
    machine: { platform: process.platform, arch: process.arch, node: process.versions.node, cpus: cpus().length },
    installed: Object.fromEntries(ENGINES.map((engine) => [engine, installedVersion(ENGINE_PACKAGES[engine])])) as Record<EngineName, string | null>,
    nativeSetup: readNativeSetup(),
    gpu: gpuFacts(),
    setupCommand: `node ${setupScript}`,
  };
}
