/**
 * Issue 15: peak RSS and step time of detc's training against torchvision's, per configuration of
 * the training bench, measured in the same run, and where detc's memory goes (per phase):
 *
 * - engine: RSS once the TensorFlow.js engine is loaded, before any model (code, libraries).
 * - weights: every variable of the model (parameters and batch-norm statistics).
 * - optimizer state: SGD's momentum buffers, one per trainable variable.
 * - kept for backward: tensors alive when the forward pass returns, held by the gradient tape.
 * - gradients: one per trainable variable, alive from the backward pass to the update.
 * - peak tensors: the most tensor bytes alive at once during a step (`tf.profile`).
 * - images: the batch's pixels as read and as the model's floats.
 * - JS heap: V8's heap at its largest after a step.
 * - allocator & rest: peak RSS less all of the above: what TensorFlow's allocator caches and
 *   fragments beyond the live tensors (and what the kernels' scratch space takes).
 * The tensor columns are tfjs's counts, in which a reshape's output takes bytes of its own though
 * TensorFlow shares its input's buffer: they overstate, and "allocator & rest" can come out negative.
 *
 * torchvision runs twice, with glibc's default allocator and with glibc keeping freed memory
 * (TORCH_ALLOCATORS in bench/training.ts says why); detc is compared with its smaller peak and its
 * faster step.
 *
 * Each side runs in a fresh child (bench/memory-child.ts, bundled and run by plain Node as the CLI
 * is; bench/torchvision_training.py), so the max RSS each reports is its own; both train the same
 * images from the same weights.
 *
 * With `--recompute`, detc also runs each configuration with `train recompute_stages true`.
 *
 *     npx tsx bench/memory.ts [--only resnet50,quickstart] [--sizes 512,800] [--engines tensorflow,wasm] [--steps N] [--batch N] [--recompute] [--no-torchvision]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { checkSource } from "../src/check/index.js";
import { bundledChild, detcEnvironment } from "./bundled-child.js";
import type { MemoryResult } from "./memory-child.js";
import {
  BENCH_CONFIGS,
  BENCH_ENGINES,
  type BenchEngine,
  type DetcJob,
  measure,
  median,
  type Outcome,
  PYTHON,
  run,
  TORCH_ALLOCATORS,
  writeInputs,
  writeTorchvisionModules,
} from "./training.js";

const root = fileURLToPath(new URL("..", import.meta.url));

export interface MemoryBenchOptions {
  readonly only?: readonly string[];
  /** Input sizes for the seed configurations (the quick start keeps its own); default 512. */
  readonly sizes?: readonly number[];
  readonly engines?: readonly BenchEngine[];
  readonly steps?: number;
  /** Overrides the configurations' `train batch_size` (not the quick start's). */
  readonly batchSize?: number;
  /** Measure torchvision too (default); without, the detc rows only (e.g. checking what fits WASM's heap). */
  readonly torchvision?: boolean;
  /** Also run detc with `train recompute_stages true`. */
  readonly recompute?: boolean;
  readonly onProgress?: (message: string) => void;
}

interface TorchvisionResult {
  readonly trainMs: number[];
  readonly maxRssKb: number;
}

const GIB = 2 ** 30;
const gib = (bytes: number) => `${(bytes / GIB).toFixed(2)} GiB`;
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const ratio = (value: number) => `**${value.toFixed(2)}×**`;
const ms = (values: readonly number[]) => median(values).toFixed(0);

function profileRow(name: string, r: MemoryResult): string {
  const p = r.profile;
  const rest = r.maxRssKb * 1024 - p.engineRss - p.peakTensors - p.images - p.jsHeap;
  return (
    `| ${name} | ${mib(p.engineRss)} | ${mib(p.weights)} | ${mib(p.optimizerState)} | ${mib(p.keptForBackward)} | ` +
    `${mib(p.gradients)} | ${mib(p.peakTensors)} | ${mib(p.images)} | ${mib(p.jsHeap)} | ${mib(rest)} | ${gib(r.maxRssKb * 1024)} |`
  );
}

export async function benchMemory(options: MemoryBenchOptions = {}): Promise<string[]> {
  const threads = cpus().length;
  const memoryChild = await bundledChild(join(root, "bench/memory-child.ts"));
  const sizes = options.sizes ?? [512];
  const engines = options.engines ?? ["tensorflow"];
  const steps = options.steps ?? 3;
  const warmupSteps = 1;
  const progress = options.onProgress ?? ((message: string) => process.stderr.write(`${message}\n`));
  const configs = BENCH_CONFIGS.filter((c) => !options.only || options.only.includes(c.name));
  const loadAtStart = loadavg()[0] ?? 0;
  const started = performance.now();

  const comparison = [
    "| config | input | batch | engine | torchvision peak RSS | detc peak RSS | RSS detc/tv | torchvision ms/step | detc ms/step | time detc/tv |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  const profile = [
    "| config, engine | engine | weights | optimizer state | kept for backward | gradients | peak tensors | images | JS heap | allocator & rest | peak RSS |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  const torchvisionTable = [
    "| config | input | torchvision's allocator | peak RSS | ms/step |",
    "|---|---|---|---|---|",
  ];
  const notes: string[] = [];
  for (const config of configs)
    for (const size of config.input === undefined ? [undefined] : sizes) {
      const original = readFileSync(join(root, config.file), "utf8");
      const batchLine = options.batchSize === undefined ? "" : `train batch_size ${options.batchSize}\n`;
      const source = size === undefined ? original : `${original}\ninput ${size}\n${batchLine}`;
      const detector = checkSource(source).detectors[0];
      if (!detector) throw new Error(`${config.file} does not check${size ? ` with \`input ${size}\`` : ""}`);
      const { height } = detector.input;
      const batchSize = detector.spec.settings.train.batch_size as number;
      const dir = mkdtempSync(join(tmpdir(), `detc-memory-bench-${config.name}-`));
      try {
        const moduleDir = join(dir, "torchvision");
        mkdirSync(moduleDir);
        writeTorchvisionModules(moduleDir, detector, config.file);
        const inputs = writeInputs(dir, height, batchSize, detector.spec.classes.count);
        const initialWeights = join(dir, "initial.pth");
        await run(PYTHON, [join(root, "bench/torchvision_training.py"), "--initial-weights", moduleDir, initialWeights], threads);
        const { lr, warmup_factor } = detector.spec.settings.train;
        const job = { inputs, initialWeights, lr: (lr as number) * (warmup_factor as number), warmupSteps, steps, inferenceRuns: 0, threads };
        const label = `${config.name} ${height} px`;
        let torchvision: Outcome<{ readonly maxRssKb: number; readonly stepMs: number }> | undefined;
        if (options.torchvision !== false) {
          const results: TorchvisionResult[] = [];
          for (const allocator of TORCH_ALLOCATORS) {
            progress(`${label}: torchvision, ${allocator.name}…`);
            const outcome = await measure<TorchvisionResult>(PYTHON, [join(root, "bench/torchvision_training.py"), JSON.stringify({ ...job, moduleDir })], threads, allocator.env);
            torchvisionTable.push(
              "error" in outcome
                ? `| ${config.name} | ${height} | ${allocator.name} | failed: ${outcome.error} | |`
                : `| ${config.name} | ${height} | ${allocator.name} | ${gib(outcome.result.maxRssKb * 1024)} | ${ms(outcome.result.trainMs)} |`,
            );
            if ("error" in outcome) torchvision ??= outcome;
            else results.push(outcome.result);
          }
          // torchvision at its best on each axis: the smaller peak and the faster step.
          if (results.length === TORCH_ALLOCATORS.length)
            torchvision = { result: { maxRssKb: Math.min(...results.map((r) => r.maxRssKb)), stepMs: Math.min(...results.map((r) => median(r.trainMs))) } };
        }
        const runs = engines.flatMap((engine) => (options.recompute ? [false, true] : [false]).map((recompute) => ({ engine, recompute })));
        for (const { engine, recompute } of runs) {
          const variant = recompute ? `${engine}, recompute_stages` : engine;
          progress(`${label}: detc on ${variant}…`);
          const detcJob: DetcJob = { ...job, engine, source: recompute ? `${source}\ntrain recompute_stages true\n` : source };
          const detc: Outcome<MemoryResult> = await measure<MemoryResult>(process.execPath, [memoryChild, JSON.stringify(detcJob)], threads, detcEnvironment());
          const head = `| ${config.name} | ${height} | ${batchSize} | ${variant}`;
          if ((torchvision && "error" in torchvision) || "error" in detc) {
            const why = torchvision && "error" in torchvision ? `torchvision failed: ${torchvision.error}` : "error" in detc ? `detc failed: ${detc.error}` : "";
            comparison.push(`${head} | ${why} | | | | | |`);
            progress(comparison.at(-1) ?? "");
            continue;
          }
          const tv = torchvision?.result;
          const d = detc.result;
          const row = tv
            ? `${head} | ${gib(tv.maxRssKb * 1024)} | ${gib(d.maxRssKb * 1024)} | ${ratio(d.maxRssKb / tv.maxRssKb)} | ` +
              `${tv.stepMs.toFixed(0)} | ${ms(d.trainMs)} | ${ratio(median(d.trainMs) / tv.stepMs)} |`
            : `${head} | — | ${gib(d.maxRssKb * 1024)} | — | — | ${ms(d.trainMs)} | — |`;
          comparison.push(row);
          profile.push(profileRow(`${label}, ${variant}`, d));
          // A long run's rows as they come, should it be stopped before the end.
          progress(`${row}\n${profile.at(-1) ?? ""}`);
          if (!d.allFinite) notes.push(`${label}, ${variant}: a loss was not finite`);
          if (d.wasmHeapBytes !== undefined) notes.push(`${label}, ${variant}: WASM heap grew to ${gib(d.wasmHeapBytes)} of 4 GiB`);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  const minutes = (performance.now() - started) / 60_000;
  return [
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}; ${threads} threads on both sides`,
    `timing: median of ${steps} training steps after ${warmupSteps} warm-up step (the SGD update included); peak RSS over the whole child (torchvision's includes one inference batch)`,
    "",
    "torchvision: the smaller peak RSS and the faster step of its two allocators:",
    "",
    ...comparison,
    "",
    ...(torchvisionTable.length > 2 ? [...torchvisionTable, ""] : []),
    "detc's memory per phase (see bench/memory.ts for what each column holds):",
    "",
    ...profile,
    "",
    ...notes.map((note) => `- ${note}`),
    `${minutes.toFixed(1)} min in all; load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
  ];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({
    options: {
      only: { type: "string" },
      sizes: { type: "string" },
      engines: { type: "string" },
      steps: { type: "string" },
      batch: { type: "string" },
      recompute: { type: "boolean" },
      "no-torchvision": { type: "boolean" },
    },
  });
  const engines = values.engines?.split(",");
  const wrong = engines?.filter((e) => !(BENCH_ENGINES as readonly string[]).includes(e)) ?? [];
  if (wrong.length) throw new Error(`unknown engine ${wrong.join(", ")}; known: ${BENCH_ENGINES.join(", ")}`);
  const lines = await benchMemory({
    only: values.only?.split(","),
    sizes: values.sizes?.split(",").map(Number),
    engines: engines as BenchEngine[] | undefined,
    steps: values.steps === undefined ? undefined : Number(values.steps),
    recompute: values.recompute,
    torchvision: !values["no-torchvision"],
    batchSize: values.batch === undefined ? undefined : Number(values.batch),
  });
  console.log(lines.join("\n"));
}
