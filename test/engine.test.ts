/** Engine selection and the doctor's report; only the last test needs the native engine. */
import * as tf from "@tensorflow/tfjs";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, inject, it } from "vitest";
import { selectBackend, tfjsCoreBehind, type BackendSelection, type EngineAttempt } from "../src/engine/backend.js";
import { ENGINE_PACKAGES, ENGINES, isEngineChoice, isWasmOutOfMemory } from "../src/engine/engines.js";
import { doctorReport, readNativeSetup, renderDoctorReport, type EngineFacts } from "../src/engine/doctor.js";
import { hugePages, hugePagesFactsHere } from "../src/engine/huge-pages.js";
import { MEMORY_HELPER_NAME } from "../src/engine/memory-helper.js";

const requireHere = createRequire(import.meta.url);
const root = fileURLToPath(new URL("..", import.meta.url));

/** 2×2 matMul, the smallest check that a backend really computes. */
async function matMulResult(): Promise<number[]> {
  const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]]), tf.tensor2d([[5, 6], [7, 8]]));
  return Array.from(await product.data());
}

describe("selectBackend with a forced engine", () => {
  it("cpu: takes the pure-JS backend and says why the others were not tried", async () => {
    const selection = await selectBackend("cpu");
    expect(selection).toMatchObject({ choice: "cpu", engine: "cpu", backend: "cpu" });
    expect(tf.getBackend()).toBe("cpu");
    expect(selection.attempts.map((a) => [a.engine, a.outcome])).toEqual([
      ["tensorflow-gpu", "skipped"], ["tensorflow", "skipped"], ["wasm", "skipped"], ["cpu", "active"],
    ]);
    expect(selection.attempts[0]!.detail).toContain('engine "cpu" was asked for');
    expect(await matMulResult()).toEqual([19, 22, 43, 50]);
  });

  it("wasm: loads the .wasm files from node_modules and computes", async () => {
    const selection = await selectBackend("wasm");
    expect(selection).toMatchObject({ engine: "wasm", backend: "wasm" });
    expect(tf.getBackend()).toBe("wasm");
    expect(selection.attempts.find((a) => a.engine === "wasm")!.detail).toMatch(/SIMD, \d+ threads?/);
    expect(await matMulResult()).toEqual([19, 22, 43, 50]);
  });

  it("tensorflow: asks TensorFlow for its best-fit pool on 4 KiB pages, its default allocator on huge pages", async () => {
    const selection = await selectBackend("auto");
    if (selection.backend !== "tensorflow") return; // no native engine installed here
    const pages = hugePages(hugePagesFactsHere());
    expect(process.env.TF_CPU_ALLOCATOR_USE_BFC).toBe(pages.state === "on" ? "false" : "true");
  });

  it("switching back and forth keeps working (the .wasm path is set once)", async () => {
    expect((await selectBackend("cpu")).engine).toBe("cpu");
    expect((await selectBackend("wasm")).engine).toBe("wasm");
  });

  it("accepts only the four choices", () => {
    expect(["auto", "tensorflow", "wasm", "cpu"].every(isEngineChoice)).toBe(true);
    expect(isEngineChoice("webgl")).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// doctor: pure function over hand-made facts

const attempt = (engine: EngineAttempt["engine"], outcome: EngineAttempt["outcome"], detail: string, missingPackage?: boolean): EngineAttempt =>
  ({ engine, outcome, detail, ...(missingPackage && { missingPackage }) });

const WASM_ACTIVE: BackendSelection = {
  choice: "auto", engine: "wasm", backend: "wasm",
  attempts: [
    attempt("tensorflow-gpu", "failed", "@tensorflow/tfjs-node-gpu is not installed", true),
    attempt("tensorflow", "failed", "The Node.js native addon module (tfjs_binding.node) can not be found at path: /x"),
    attempt("wasm", "active", "SIMD, 1 thread"),
    attempt("cpu", "skipped", "not needed: wasm is active"),
  ],
};

function facts(overrides: Partial<EngineFacts> = {}): EngineFacts {
  return {
    selection: WASM_ACTIVE,
    machine: { platform: "linux", arch: "x64", node: "20.20.2", cpus: 2 },
    installed: { "tensorflow-gpu": null, tensorflow: "4.22.0", wasm: "4.22.0", cpu: "4.22.0" },
    nativeSetup: null,
    gpu: { nvidiaDriver: null, cudaRuntime: null, cudnn: null },
    setupCommand: "node /p/src/engine/install-engine.mjs",
    ...overrides,
  };
}

const entry = (report: ReturnType<typeof doctorReport>, engine: string) => report.engines.find((e) => e.engine === engine)!;

describe("doctorReport", () => {
  it("has the documented JSON shape: the active engine and one entry per engine", () => {
    const report = doctorReport(facts());
    expect(report.engine).toBe("wasm");
    expect(report.engines.map((e) => e.engine)).toEqual(ENGINES);
    expect(entry(report, "wasm")).toMatchObject({ active: true, package: ENGINE_PACKAGES.wasm, installed: "4.22.0" });
    expect(entry(report, "wasm").reason).toBeUndefined();
    expect(JSON.parse(JSON.stringify(report))).toEqual(report);
  });

  it("no GPU driver: names the CUDA/cuDNN that TensorFlow 2.9 needs and how to install tfjs-node-gpu", () => {
    const gpu = entry(doctorReport(facts()), "tensorflow-gpu");
    expect(gpu.reason).toMatch(/no NVIDIA GPU driver/);
    expect(gpu.fix).toMatch(/CUDA 11\.2 and cuDNN 8\.1/);
    expect(gpu.fix).toContain("npm install @tensorflow/tfjs-node-gpu@4.22.0");
    expect(gpu.fix).toContain("npm install-scripts approve @tensorflow/tfjs-node-gpu");
  });

  it("GPU driver present but CUDA libraries missing: names the libraries the loader needs", () => {
    const gpu = entry(doctorReport(facts({ gpu: { nvidiaDriver: "NVRM version: 535", cudaRuntime: null, cudnn: "/usr/lib/libcudnn.so.8" } })), "tensorflow-gpu");
    expect(gpu.reason).toBe("@tensorflow/tfjs-node-gpu is not installed");
    expect(gpu.fix).toMatch(/libcudart\.so\.11\.0/);
    expect(gpu.fix).not.toMatch(/libcudnn/);
  });

  it("no GPU build for the platform: a reason, and no fix to offer", () => {
    const gpu = entry(doctorReport(facts({ machine: { platform: "darwin", arch: "arm64", node: "20", cpus: 8 } })), "tensorflow-gpu");
    expect(gpu.reason).toMatch(/not darwin-arm64/);
    expect(gpu.fix).toBeUndefined();
  });

  it("install-time set-up found no native engine: repeats why and how to retry", () => {
    const nativeSetup = { engine: "wasm", how: "no native engine: pip wheel: ERROR: No matching distribution", at: "t" } as const;
    const tensorflow = entry(doctorReport(facts({ nativeSetup })), "tensorflow");
    expect(tensorflow.reason).toContain("No matching distribution");
    expect(tensorflow.fix).toContain("tensorflow-cpu 2.9 or later");
    expect(tensorflow.fix).toContain("node /p/src/engine/install-engine.mjs --retry");
  });

  it("install scripts never ran: the fix is to run the set-up", () => {
    const tensorflow = entry(doctorReport(facts()), "tensorflow");
    expect(tensorflow.reason).toMatch(/install scripts did not run/);
    expect(tensorflow.fix).toBe("node /p/src/engine/install-engine.mjs");
  });

  it("tfjs-node left out: the fix is to install optional dependencies", () => {
    const selection = { ...WASM_ACTIVE, attempts: WASM_ACTIVE.attempts.map((a) => a.engine === "tensorflow" ? attempt("tensorflow", "failed", "@tensorflow/tfjs-node is not installed", true) : a) };
    expect(entry(doctorReport(facts({ selection })), "tensorflow").fix).toMatch(/^npm install --include=optional/);
  });

  it("native engine active: says how it was set up; slower engines need no fix", () => {
    const selection: BackendSelection = {
      choice: "auto", engine: "tensorflow", backend: "tensorflow",
      attempts: [
        attempt("tensorflow-gpu", "failed", "@tensorflow/tfjs-node-gpu is not installed", true),
        attempt("tensorflow", "active", "TensorFlow 2.21.0 C library"),
        attempt("wasm", "skipped", "not needed: tensorflow is active"),
        attempt("cpu", "skipped", "not needed: tensorflow is active"),
      ],
    };
    const nativeSetup = { engine: "tensorflow", tensorflow: "2.21.0", how: "pip wheel tensorflow_cpu-2.21.0", at: "t" } as const;
    const report = doctorReport(facts({ selection, nativeSetup }));
    expect(report).toMatchObject({ engine: "tensorflow", backend: "tensorflow" });
    expect(entry(report, "tensorflow").detail).toBe("TensorFlow 2.21.0 C library; pip wheel tensorflow_cpu-2.21.0");
    expect(entry(report, "wasm")).toMatchObject({ active: false, reason: "not needed: tensorflow is active" });
    expect(entry(report, "wasm").fix).toBeUndefined();
    const text = renderDoctorReport(report);
    expect(text).toMatch(/^engine: tensorflow — TensorFlow 2\.21\.0/);
    expect(text).toMatch(/✓ tensorflow +@tensorflow\/tfjs-node@4\.22\.0/);
    expect(text).toMatch(/✗ tensorflow-gpu +@tensorflow\/tfjs-node-gpu \(not installed\)\n {4}why: .*\n {4}fix: /);
  });
});

// ---------------------------------------------------------------------------------------------
// the native engine, when this machine has it

function tfjsNodeMain(): string | null {
  try {
    return requireHere.resolve(ENGINE_PACKAGES.tensorflow);
  } catch {
    return null;
  }
}

describe("native tensorflow engine", () => {
  it("tfjs-node runs on the same @tensorflow/tfjs-core copy as detc", (context) => {
    const main = tfjsNodeMain();
    if (!main) return context.skip("@tensorflow/tfjs-node is not installed (optional dependency)");
    expect(tfjsCoreBehind(main)).toBe(tfjsCoreBehind(fileURLToPath(import.meta.url)));
  });

  it("loads as backend `tensorflow` on the engine detc's @tensorflow/tfjs uses", async (context) => {
    const setup = readNativeSetup();
    if (setup?.engine !== "tensorflow") {
      const why = setup ? `install-time set-up chose ${setup.engine}: ${setup.how}` : "src/engine/install-engine.mjs has not set it up here";
      return context.skip(`no native engine on this machine (${why})`);
    }
    const selection = await selectBackend("auto");
    expect(selection.engine).toMatch(/^tensorflow/);
    expect(tf.getBackend()).toBe("tensorflow");
    // tfjs-node's own exports see the very engine (and tensors) that detc's import sees.
    const tfjsNode = requireHere(ENGINE_PACKAGES.tensorflow) as typeof tf;
    expect(tfjsNode.engine()).toBe(tf.engine());
    expect(tfjsNode.getBackend()).toBe("tensorflow");
    expect(await matMulResult()).toEqual([19, 22, 43, 50]);
    expect(selection.attempts.find((a) => a.outcome === "active")!.detail).toMatch(/^TensorFlow \d+\.\d+/);
  });
});

describe("the native engine's start-up pages", () => {
  it("are handed back after loading: libtensorflow keeps a few MB resident, not ~250, and ops still compute", (context) => {
    if (readNativeSetup()?.engine !== "tensorflow") return context.skip("no native engine on this machine");
    // A fresh process: what loading reads must not have been released, or refaulted, by other tests.
    const script = `
      import { readFileSync } from "node:fs";
      import * as tf from "@tensorflow/tfjs";
      import { useEngine } from ${JSON.stringify(inject("cli").replace(/detc\.js$/, "index.js"))};
      const selection = await useEngine("tensorflow");
      const residentMiB = () => {
        let kib = 0, library = false;
        for (const line of readFileSync("/proc/self/smaps", "utf8").split("\\n")) {
          if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) library = line.includes("libtensorflow");
          else if (library && line.startsWith("Rss:")) kib += Number(line.split(/\\s+/)[1]);
        }
        return kib / 1024;
      };
      const afterLoad = residentMiB();
      const image = tf.ones([1, 32, 32, 8]);
      const sum = (await tf.conv2d(image, tf.ones([3, 3, 8, 4]), 1, "same").sum().data())[0];
      console.log(JSON.stringify({ detail: selection.attempts.find((a) => a.outcome === "active").detail, afterLoad, afterOps: residentMiB(), sum }));`;
    const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" });
    expect(child.status, child.stderr).toBe(0);
    const { detail, afterLoad, afterOps, sum } = JSON.parse(child.stdout);
    expect(detail).not.toContain("stay resident");
    expect(afterLoad).toBeLessThan(64); // ~250 MiB when they stay
    expect(afterOps).toBeLessThan(128);
    // A "same" 3×3 convolution of ones: each of the 9 taps meets (32 − |dx|)(32 − |dy|) pixels, 8 channels, 4 outputs.
    expect(sum).toBe(4 * 8 * (32 + 31 + 31) ** 2);
  });

  it("are handed back while loading too: releasing the code pages then lowers the load's peak by 32+ MiB", (context) => {
    if (readNativeSetup()?.engine !== "tensorflow") return context.skip("no native engine on this machine");
    const tfjsNode = tfjsNodeMain()!;
    const helper = join(dirname(requireHere.resolve(`${ENGINE_PACKAGES.tensorflow}/package.json`)), "deps", MEMORY_HELPER_NAME);
    if (!existsSync(helper)) return context.skip("the memory helper is not built here");
    // Fresh processes, the same but for the thread: the peak is the process's largest resident set ever.
    const peakOfLoading = (thread: boolean) => {
      const script = `
        const helper = require(${JSON.stringify(helper)});
        if (${thread}) helper.startReleasingCode("libtensorflow");
        let passes = 0;
        try { require(${JSON.stringify(tfjsNode)}); } finally { if (${thread}) passes = helper.stopReleasingCode(); }
        console.log(JSON.stringify({ passes, peakMiB: process.resourceUsage().maxRSS / 1024 }));`;
      const child = spawnSync(process.execPath, ["-e", script], { cwd: root, encoding: "utf8", env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: "2" } });
      expect(child.status, child.stderr).toBe(0);
      return JSON.parse(child.stdout) as { passes: number; peakMiB: number };
    };
    const without = peakOfLoading(false);
    const withThread = peakOfLoading(true);
    expect(withThread.passes).toBeGreaterThanOrEqual(1); // every 20 ms of a load of ~0.7 s
    expect(withThread.peakMiB, `peak ${withThread.peakMiB} MiB with the thread, ${without.peakMiB} without`).toBeLessThan(without.peakMiB - 32); // ~270 vs ~350
  });
});

describe("WASM out of memory", () => {
  it("is recognised by what emscripten and WebAssembly say, and nothing else", () => {
    expect(isWasmOutOfMemory(new WebAssembly.RuntimeError("memory access out of bounds"))).toBe(true);
    expect(isWasmOutOfMemory(new Error("Aborted(OOM). Build with -sASSERTIONS for more info."))).toBe(true);
    expect(isWasmOutOfMemory(new Error("Cannot enlarge memory, asked to go up to 4294967296 bytes"))).toBe(true);
    expect(isWasmOutOfMemory(new RangeError("index 9 out of bounds"))).toBe(false);
  });
});
