/**
 * Issue 4: training ms/step, inference ms/image and peak memory of detc on each engine against
 * torchvision built to the same configuration, on the same inputs, at the same thread count, in
 * the same run. Configs: the five seed examples at 512 px (a line `input 512` appended to each:
 * they have no `input`, so they would run at torchvision's 800/1333) and the quick start as it is
 * (its `input 128`, batch 8). The torchvision model is what `detc emit torchvision` writes for the
 * config, trained as the emitted train.py trains it. Random weights on both sides, never
 * pretrained ones.
 *
 * Both sides get the same synthetic images and boxes, start from the same random weights
 * (torchvision's initialisation, which detc loads) and use the same learning rate. Every (config,
 * engine) runs in a fresh child process (bench/training-child.ts, bundled and run by plain Node as the
 * CLI is; bench/torchvision_training.py),
 * so the max RSS each reports is its own. Timings: median of the timed steps after the warm-up
 * steps (the SGD update included), and of the inference batches after one warm-up batch, per image.
 *
 *     npx tsx bench/training.ts [--only resnet50,quickstart] [--engines tensorflow,wasm]
 *                               [--steps N] [--wasm-steps N] [--warmup N] [--inference-runs N] [--threads N]
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { checkSource } from "../src/check/index.js";
import type { DetectorSummary } from "../src/check/summary.js";
import type { Box } from "../src/data/dataset.js";
import { emitTorchvisionModule } from "../src/emit/torchvision.js";
import { emitTrainScript } from "../src/emit/train-script.js";
import { bundledChild, detcEnvironment } from "./bundled-child.js";

const root = fileURLToPath(new URL("..", import.meta.url));
export const PYTHON = "/usr/bin/python3";

export type BenchEngine = "tensorflow" | "wasm";
export const BENCH_ENGINES: readonly BenchEngine[] = ["tensorflow", "wasm"];

/** The seed examples, run at 512 px, and the quick start at its own size. */
export const BENCH_CONFIGS: readonly { readonly name: string; readonly file: string; readonly input?: number }[] = [
  { name: "resnet50", file: "examples/resnet50.det", input: 512 },
  { name: "vgg16_bn", file: "examples/vgg16_bn.det", input: 512 },
  { name: "efficientnet_b0", file: "examples/efficientnet_b0.det", input: 512 },
  { name: "efficientnet_b0_fpn", file: "examples/efficientnet_b0_fpn.det", input: 512 },
  { name: "mobilenet_v3_large_fpn", file: "examples/mobilenet_v3_large_fpn.det", input: 512 },
  { name: "quickstart", file: "examples/quickstart.det" },
];

/**
 * torch takes its memory from glibc's malloc, which hands large freed blocks back to the kernel
 * (those past its mmap threshold, and the heap's top past its trim threshold), so a large tensor is
 * often mapped and first touched afresh. Where a page fault is dear (in this machine's VM fresh
 * memory is first touched at well under 1 GB/s: `--environment` measures it) that is much of
 * torch's time, and someone tuning torch would keep the memory, on huge pages (detc's CLI runs
 * TensorFlow's malloc on them: src/engine/huge-pages.ts). Both ways are measured; detc is compared
 * with torchvision's faster time and its smaller peak.
 */
export const TORCH_ALLOCATORS = [
  { name: "glibc's default", env: {} },
  {
    name: "glibc keeps freed memory, huge pages",
    env: { GLIBC_TUNABLES: "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=1099511627776:glibc.malloc.hugetlb=1" },
  },
] as const satisfies readonly { name: string; env: NodeJS.ProcessEnv }[];
export type TorchAllocator = (typeof TORCH_ALLOCATORS)[number]["name"];

/** Goals of issue 4: detc's time over torchvision's at most this. */
const GOALS = {
  tensorflow: { train: 1.25, infer: 1 },
  wasm: { train: 5, infer: 5 },
} as const satisfies Record<BenchEngine, { train: number; infer: number }>;

export interface TrainingBenchOptions {
  /** Config names of {@link BENCH_CONFIGS}; default all. */
  readonly only?: readonly string[];
  readonly engines?: readonly BenchEngine[];
  /** Threads for torchvision and native TensorFlow; default the machine's cores. */
  readonly threads?: number;
  readonly warmupSteps?: number;
  /** Timed training steps (torchvision and the native engine). */
  readonly steps?: number;
  /**
   * Timed training steps on WASM, which takes up to a minute a step at 512 px, and for
   * torchvision at WASM's thread count; both after one warm-up step.
   */
  readonly wasmSteps?: number;
  /** Timed inference batches (after one warm-up batch). */
  readonly inferenceRuns?: number;
  /** Progress notes while it runs (default: standard error). */
  readonly onProgress?: (message: string) => void;
}

/** The images and boxes both sides train on, written once per config: `pixels` is uint8 HWC, image after image. */
export interface BenchInputs {
  readonly size: number;
  readonly pixels: string;
  readonly boxes: Box[][];
  readonly labels: number[][];
}

interface RunJob {
  readonly inputs: string;
  /** The same on both sides: a step's time does not depend on it. */
  readonly lr: number;
  /**
   * torchvision's random initialisation of the model, a state dict both sides start from: the
   * weights decide how many proposals survive NMS, and so how much the RoI heads compute.
   */
  readonly initialWeights: string;
  readonly threads: number;
  readonly warmupSteps: number;
  readonly steps: number;
  readonly inferenceRuns: number;
}

export interface DetcJob extends RunJob {
  readonly engine: BenchEngine;
  readonly source: string;
}

interface TorchvisionJob extends RunJob {
  /** Where `model.py` and `train.py` from `detc emit torchvision` are. */
  readonly moduleDir: string;
}

/** What a child reports (both sides). */
export interface RunResult {
  /** What ran: detc's engine as `selectBackend` describes it, or torchvision's and torch's versions. */
  readonly engine: string;
  readonly threads: number;
  readonly trainMs: number[];
  readonly trainCpuMs: number[];
  /** Per inference batch. */
  readonly inferMs: number[];
  /** The last step's; null where not finite (JSON has no NaN). */
  readonly losses: Record<string, number | null>;
  readonly allFinite: boolean;
  readonly images: number;
  readonly boxes: number;
  /** Proposals per image of the last training and inference forward passes. */
  readonly proposals: { readonly train: number[]; readonly test: number[] };
  readonly detections: number[];
  readonly maxRssKb: number;
  /** detc only: state-dict entries of the model filled from `initialWeights`, and all it has. */
  readonly weightsLoaded?: { readonly loaded: number; readonly of: number };
  /** torchvision only: the settings its model was built with. */
  readonly settings?: TorchvisionSettings;
}

interface TorchvisionSettings {
  readonly rpn_pre_nms_top_n: { readonly training: number; readonly testing: number };
  readonly rpn_post_nms_top_n: { readonly training: number; readonly testing: number };
  readonly box_batch_size_per_image: number;
}

export type Outcome<T = RunResult> = { readonly result: T } | { readonly error: string };

/** Pixel (x, y, c) of image i: (7x + 13y + 29c + 61i) mod 256; two boxes per image, moving with i. */
export function writeInputs(dir: string, size: number, count: number, classes: number): string {
  const imageBytes = size * size * 3;
  const pixels = new Uint8Array(count * imageBytes);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < 3; c++) pixels[i * imageBytes + (y * size + x) * 3 + c] = (7 * x + 13 * y + 29 * c + 61 * i) % 256;
  const box = (x1: number, y1: number, x2: number, y2: number): Box => [x1 * size, y1 * size, x2 * size, y2 * size];
  const shift = (i: number) => 0.05 * i;
  const inputs: BenchInputs = {
    size,
    pixels: join(dir, "pixels.bin"),
    boxes: Array.from({ length: count }, (_, i) => [box(0.1 + shift(i), 0.15, 0.45 + shift(i), 0.55), box(0.5, 0.4 + shift(i), 0.9, 0.85)]),
    labels: Array.from({ length: count }, (_, i) => [1 + ((2 * i) % (classes - 1)), 1 + ((2 * i + 1) % (classes - 1))]),
  };
  writeFileSync(inputs.pixels, pixels);
  const path = join(dir, "inputs.json");
  writeFileSync(path, JSON.stringify(inputs));
  return path;
}

/** The emitted model and train.py, as `detc emit torchvision --train-script` writes them. */
export function writeTorchvisionModules(dir: string, detector: DetectorSummary, source: string): void {
  writeFileSync(join(dir, "model.py"), emitTorchvisionModule(detector, { source, moduleName: "model" }));
  // train.py reads COCO or VOC only; the dataset named here is never read, as only the script's
  // settings and helpers are imported.
  const unread = { format: "coco", train: { annotations: "unused.json", images: "unused" } } as const;
  writeFileSync(join(dir, "train.py"), emitTrainScript({ ...detector.spec, dataset: unread }, "model"));
}

/** Runs a child to completion and resolves to its stdout; rejects with the end of its stderr. */
export function run(command: string, args: readonly string[], threads: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const env = {
    ...process.env,
    ...extraEnv,
    // TensorFlow's pools default to every core; torch's own setting is made in the script.
    TF_NUM_INTRAOP_THREADS: String(threads),
    TF_NUM_INTEROP_THREADS: String(threads),
    OMP_NUM_THREADS: String(threads),
    OPENBLAS_NUM_THREADS: String(threads),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(stdout);
      // Node prints the error's message before its stack, Python after its traceback.
      const messages = stderr.split("\n").filter((line) => /^[\w.]*(Error|Exception)\b.*:/.test(line));
      const why = messages.at(-1) ?? (stderr.trim().split("\n").slice(-3).join(" / ") || "no output");
      reject(new Error(`${signal ?? `exit ${code}`}: ${why}`));
    });
  });
}

/** A measurement child's result (its last line of output), or why it failed: one failure does not end the bench. */
export async function measure<T = RunResult>(command: string, args: readonly string[], threads: number, extraEnv: NodeJS.ProcessEnv = {}): Promise<Outcome<T>> {
  try {
    return { result: JSON.parse((await run(command, args, threads, extraEnv)).trim().split("\n").at(-1)!) as T };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export const median = (values: readonly number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
const trainMs = (r: RunResult) => median(r.trainMs);
const inferMsPerImage = (r: RunResult) => median(r.inferMs) / r.images;
const milliseconds = (ms: number) => (!Number.isFinite(ms) ? "—" : ms >= 100 ? ms.toFixed(0) : ms.toFixed(1));
const megabytes = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : "—");
const plural = (count: number, noun: string, nouns = `${noun}s`) => `${count} ${count === 1 ? noun : nouns}`;
const list = (values: readonly number[]) => (values.length && values.every((v) => v === values[0]) ? `${values[0]} × ${values.length}` : values.join(", "));
const cpuOverWall = (r: RunResult) => (r.trainMs.length ? (sum(r.trainCpuMs) / sum(r.trainMs)).toFixed(2) : "—");
const lossList = (losses: Record<string, number | null>) =>
  Object.entries(losses)
    .map(([name, value]) => `${name.replace(/^loss_/, "")} ${value?.toPrecision(3) ?? "not finite"}`)
    .join(", ");

interface TorchvisionRun {
  readonly threads: number;
  readonly allocator: TorchAllocator;
  readonly outcome: Outcome;
}

interface ConfigResults {
  readonly name: string;
  readonly torchvision: readonly TorchvisionRun[];
  readonly detc: Map<BenchEngine, Outcome>;
}

/** torchvision's best at a thread count: the faster training and inference times over its allocators. */
function torchvisionBest(runs: readonly TorchvisionRun[], threads: number): { train: number; infer: number } | undefined {
  const results = runs.flatMap((run) => (run.threads === threads && "result" in run.outcome ? [run.outcome.result] : []));
  if (results.length === 0) return undefined;
  return { train: Math.min(...results.map(trainMs)), infer: Math.min(...results.map(inferMsPerImage)) };
}

const describeSettings = (s: TorchvisionSettings) =>
  `rpn pre/post-NMS top-n: training ${s.rpn_pre_nms_top_n.training}/${s.rpn_post_nms_top_n.training}, ` +
  `testing ${s.rpn_pre_nms_top_n.testing}/${s.rpn_post_nms_top_n.testing}; RoIs sampled per image: ${s.box_batch_size_per_image}`;

/** The spec's settings in the shape torchvision_training.py reports its model's. */
function specSettings(spec: DetectorSummary["spec"]): TorchvisionSettings {
  const { rpn, box } = spec.settings;
  return {
    rpn_pre_nms_top_n: { training: rpn.pre_nms_top_n_train as number, testing: rpn.pre_nms_top_n_test as number },
    rpn_post_nms_top_n: { training: rpn.post_nms_top_n_train as number, testing: rpn.post_nms_top_n_test as number },
    box_batch_size_per_image: box.batch_size_per_image as number,
  };
}

function configLines(config: ConfigResults, heading: string, spec: DetectorSummary["spec"]): string[] {
  const settings = describeSettings(specSettings(spec));
  const lines = [
    `### ${heading}`,
    "",
    `The spec's ${settings}.`,
    "",
    "| engine | threads | train ms/step | infer ms/image | peak RSS | train CPU/wall | train ratio detc/tv | infer ratio detc/tv |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const checks: string[] = [];
  for (const { threads, allocator, outcome } of config.torchvision) {
    const engine = `torchvision, ${allocator}`;
    if ("error" in outcome) {
      lines.push(`| ${engine} | ${threads} | failed: ${outcome.error} | | | | | |`);
      continue;
    }
    const r = outcome.result;
    lines.push(
      `| ${engine} | ${r.threads} | ${milliseconds(trainMs(r))} | ${milliseconds(inferMsPerImage(r))} | ${megabytes(r.maxRssKb)} | ` +
        `${cpuOverWall(r)} | baseline | baseline |`,
    );
    const built = describeSettings(r.settings!);
    checks.push(`${runChecks(`${r.engine}, ${allocator}, ${plural(threads, "thread")}`, r)}; model built with ${built === settings ? "the spec's settings" : `**other settings**: ${built}`}`);
  }
  for (const [engine, outcome] of config.detc) {
    if ("error" in outcome) {
      lines.push(`| detc ${engine} | | failed: ${outcome.error} | | | | | |`);
      continue;
    }
    const r = outcome.result;
    const base = torchvisionBest(config.torchvision, r.threads);
    lines.push(
      `| detc ${engine} | ${r.threads} | ${milliseconds(trainMs(r))} | ${milliseconds(inferMsPerImage(r))} | ${megabytes(r.maxRssKb)} | ` +
        `${cpuOverWall(r)} | ${base ? `**${ratio(trainMs(r) / base.train)}**` : "—"} | ` +
        `${base ? `**${ratio(inferMsPerImage(r) / base.infer)}**` : "—"} |`,
    );
    const weights = r.weightsLoaded!;
    checks.push(`${runChecks(`detc ${engine} (${r.engine})`, r)}; ${weights.loaded === weights.of ? "all" : "**only**"} ${weights.loaded} of ${weights.of} initial tensors from torchvision's`);
  }
  return [...lines, "", ...checks.map((c) => `- ${c}`), ""];
}

function runChecks(label: string, r: RunResult): string {
  return (
    `${label}: ${plural(r.images, "image")}, ${plural(r.boxes, "box", "boxes")}; proposals per image training ${list(r.proposals.train)}, ` +
    `testing ${list(r.proposals.test)}; detections ${r.detections.join(", ")}; last losses ${lossList(r.losses)}` +
    `${r.allFinite ? "" : " — **a loss was not finite**"}; ${plural(r.trainMs.length, "timed step")}`
  );
}

function summaryLines(all: readonly ConfigResults[], engines: readonly BenchEngine[]): string[] {
  const lines = ["### Goals", ""];
  for (const engine of engines) {
    const goal = GOALS[engine];
    const rows = all.flatMap((config) => {
      const outcome = config.detc.get(engine);
      if (!outcome || "error" in outcome) return [];
      const base = torchvisionBest(config.torchvision, outcome.result.threads);
      if (!base) return [];
      return [{ name: config.name, train: trainMs(outcome.result) / base.train, infer: inferMsPerImage(outcome.result) / base.infer }];
    });
    if (rows.length === 0) continue;
    const verdict = (part: "train" | "infer") => {
      // No timed steps (`--steps 0`) or batches make no ratio.
      const measured = rows.filter((row) => Number.isFinite(row[part]));
      if (measured.length === 0) return "no config (not measured)";
      const met = measured.filter((row) => row[part] <= goal[part]);
      const missed = measured.filter((row) => row[part] > goal[part]).map((row) => `${row.name} ${ratio(row[part])}`);
      return `**${met.length}/${measured.length}** configs${missed.length ? ` (missed: ${missed.join(", ")})` : ""}`;
    };
    lines.push(
      `- ${engine}: training at most ${ratio(goal.train)} torchvision's time in ${verdict("train")}; ` +
        `inference at most ${ratio(goal.infer)} in ${verdict("infer")}`,
    );
  }
  return lines;
}

async function torchvisionEnvironment(threads: number): Promise<string> {
  const output = await run(PYTHON, [join(root, "bench/torchvision_training.py"), "--environment", String(threads)], threads).catch((error: Error) => {
    throw new Error(`the torchvision baseline needs ${PYTHON} with torch and torchvision (apt-get install python3-torchvision): ${error.message}`);
  });
  const e = JSON.parse(output) as {
    torch: string;
    threads: number;
    blas_libraries: string[];
    build: string[];
    mkldnn: boolean;
    matmul_gflops: number;
    fresh_fill_gbs: number;
    touched_fill_gbs: number;
  };
  return (
    `torch ${e.torch}: ${e.build.join(", ")}; BLAS loaded: ${e.blas_libraries.join(", ") || "none found"}; ` +
    `oneDNN ${e.mkldnn ? "on" : "off"}; 2048² matmul at ${e.threads} threads: ${e.matmul_gflops.toFixed(0)} GFLOP/s; ` +
    `filling 256 MiB: ${e.fresh_fill_gbs.toFixed(1)} GB/s on fresh memory (page faults), ${e.touched_fill_gbs.toFixed(1)} GB/s on memory already touched`
  );
}

export async function benchTraining(options: TrainingBenchOptions = {}): Promise<string[]> {
  const threads = options.threads ?? cpus().length;
  const engines = options.engines ?? BENCH_ENGINES;
  const warmupSteps = options.warmupSteps ?? 2;
  const steps = options.steps ?? 5;
  const wasmSteps = options.wasmSteps ?? 2;
  const inferenceRuns = options.inferenceRuns ?? 3;
  // WASM takes up to a minute a step at 512 px: fewer steps and one warm-up there, and for the
  // torchvision baseline at its thread count.
  const wasmRun = { warmupSteps: Math.min(warmupSteps, 1), steps: wasmSteps };
  const nativeRun = { warmupSteps, steps };
  const started = performance.now();
  const loadAtStart = loadavg()[0]!;
  const progress = options.onProgress ?? ((message: string) => process.stderr.write(`${message}\n`));
  const configs = BENCH_CONFIGS.filter((c) => !options.only || options.only.includes(c.name));
  const unknown = options.only?.filter((name) => !BENCH_CONFIGS.some((c) => c.name === name)) ?? [];
  if (unknown.length) throw new Error(`unknown config ${unknown.join(", ")}; known: ${BENCH_CONFIGS.map((c) => c.name).join(", ")}`);

  const lines = [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`,
    await torchvisionEnvironment(threads),
    `threads: ${threads} for torchvision (torch.set_num_threads and set_num_interop_threads, OMP/OPENBLAS_NUM_THREADS) and for ` +
      `native TensorFlow (TF_NUM_INTRAOP_THREADS and TF_NUM_INTEROP_THREADS); each detc engine is compared with torchvision ` +
      "at the engine's own thread count (tfjs-wasm runs one thread in Node).",
    `torchvision runs twice, with ${TORCH_ALLOCATORS.map((a) => a.name).join(" and with ")} (GLIBC_TUNABLES); ` +
      "the ratios are against the faster of the two (see TORCH_ALLOCATORS).",
    `timing: median of ${plural(steps, "training step")} after ${plural(warmupSteps, "warm-up step")}, the SGD update included ` +
      `(WASM, and torchvision at its thread count: ${wasmRun.steps} after ${wasmRun.warmupSteps}); ` +
      `inference: median of ${plural(inferenceRuns, "batch", "batches")} after a warm-up batch, divided by the batch size. ` +
      "train CPU/wall: process CPU time over wall time during the timed steps (the cores kept busy).",
    "inputs: the same synthetic images (pixel (x, y, c) of image i = (7x + 13y + 29c + 61i) mod 256) and two boxes per image on both sides, " +
      "already at the model's input size (torchvision's transform resizes them at scale 1, detc's converts them to floats). " +
      "Both sides start from the same random weights (torchvision's initialisation, saved once per config and loaded by detc), " +
      "so the same number of proposals survive NMS, and train at a run's first learning rate (lr × warmup_factor).",
    "",
  ];
  const trainingChild = await bundledChild(join(root, "bench/training-child.ts"));
  const results: ConfigResults[] = [];
  for (const config of configs) {
    const original = readFileSync(join(root, config.file), "utf8");
    const source = config.input ? `${original}\ninput ${config.input}\n` : original;
    const detector = checkSource(source).detectors[0];
    if (!detector) throw new Error(`${config.file} does not check${config.input ? ` with \`input ${config.input}\`` : ""}`);
    const { height, width } = detector.input;
    if (height !== width) throw new Error(`${config.file}: the benchmark's images are square; the input is ${height}×${width}`);
    const batchSize = detector.spec.settings.train.batch_size;
    const dir = mkdtempSync(join(tmpdir(), `detc-training-bench-${config.name}-`));
    try {
      const moduleDir = join(dir, "torchvision");
      mkdirSync(moduleDir);
      const described = `${config.file}${config.input ? ` with \`input ${config.input}\` appended` : ""}`;
      writeTorchvisionModules(moduleDir, detector, described);
      const inputs = writeInputs(dir, height, batchSize, detector.spec.classes.count);
      const initialWeights = join(dir, "initial.pth");
      await run(PYTHON, [join(root, "bench/torchvision_training.py"), "--initial-weights", moduleDir, initialWeights], threads);
      // A run's first learning rate (lr × warmup_factor): at the full rate, a random-weight
      // detector with frozen batch norm diverges within a few steps, and NaN steps time nothing.
      const { lr, warmup_factor } = detector.spec.settings.train;
      const job = { inputs, initialWeights, lr: (lr as number) * (warmup_factor as number), inferenceRuns };

      const detc = new Map<BenchEngine, Outcome>();
      for (const engine of engines) {
        progress(`${config.name}: detc on ${engine}…`);
        const detcJob: DetcJob = { ...job, ...(engine === "wasm" ? wasmRun : nativeRun), engine, source, threads };
        detc.set(engine, await measure(process.execPath, [trainingChild, JSON.stringify(detcJob)], threads, detcEnvironment()));
      }
      const threadCounts = new Set([threads, ...[...detc.values()].flatMap((o) => ("result" in o ? [o.result.threads] : []))]);
      const torchvision: TorchvisionRun[] = [];
      for (const count of [...threadCounts].sort((a, b) => b - a))
        for (const allocator of TORCH_ALLOCATORS) {
          progress(`${config.name}: torchvision at ${plural(count, "thread")}, ${allocator.name}…`);
          const torchJob: TorchvisionJob = { ...job, ...(count === threads ? nativeRun : wasmRun), moduleDir, threads: count };
          const outcome = await measure(PYTHON, [join(root, "bench/torchvision_training.py"), JSON.stringify(torchJob)], count, allocator.env);
          torchvision.push({ threads: count, allocator: allocator.name, outcome });
        }
      const result = { name: config.name, torchvision, detc };
      results.push(result);
      lines.push(...configLines(result, `${config.name}: ${described}, ${height}×${width}, batch ${batchSize}`, detector.spec));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const minutes = (performance.now() - started) / 60_000;
  const load = `${minutes.toFixed(1)} min in all; load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end`;
  return [...lines, ...summaryLines(results, engines), "", load];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      engines: { type: "string" },
      threads: { type: "string" },
      warmup: { type: "string" },
      steps: { type: "string" },
      "wasm-steps": { type: "string" },
      "inference-runs": { type: "string" },
    },
  });
  const number = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const engines = values.engines?.split(",");
  const wrong = engines?.filter((e) => !(BENCH_ENGINES as readonly string[]).includes(e)) ?? [];
  if (wrong.length) throw new Error(`unknown engine ${wrong.join(", ")}; known: ${BENCH_ENGINES.join(", ")}`);
  const lines = await benchTraining({
    only: values.only?.split(","),
    engines: engines as BenchEngine[] | undefined,
    threads: number(values.threads),
    warmupSteps: number(values.warmup),
    steps: number(values.steps),
    wasmSteps: number(values["wasm-steps"]),
    inferenceRuns: number(values["inference-runs"]),
  });
  console.log(lines.join("\n"));
}
