/**
 * One detc measurement of bench/memory.ts: a config's training steps on one engine, in a process
 * of its own so that the peak RSS it reports is this run's alone, with the step's memory
 * attributed per phase. The job comes as JSON in argv[2]; the result goes to stdout as one JSON line.
 */
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../src/check/index.js";
import { buildFasterRCNN } from "../src/detection/faster-rcnn.js";
import { selectBackend } from "../src/engine/backend.js";
import { SGD } from "../src/train/optimizer.js";
import { trainStep } from "../src/train/trainer.js";
import { initialiseWeights } from "../src/weights/load-weights.js";
import { readBenchExamples } from "./bench-examples.js";
import type { DetcJob } from "./training.js";

/** Bytes per phase of a training step; see `bench/memory.ts` for what each means. */
export interface MemoryProfile {
  readonly engineRss: number;
  readonly weights: number;
  readonly images: number;
  readonly keptForBackward: number;
  readonly gradients: number;
  readonly optimizerState: number;
  readonly peakTensors: number;
  readonly jsHeap: number;
  readonly arrayBuffers: number;
}

export interface MemoryResult {
  readonly engine: string;
  readonly trainMs: number[];
  readonly allFinite: boolean;
  readonly maxRssKb: number;
  readonly profile: MemoryProfile;
  /** On WASM: the size its heap grew to (it never shrinks), of the 4 GB wasm32 addresses. */
  readonly wasmHeapBytes?: number;
}

const job = JSON.parse(process.argv[2] ?? "{}") as DetcJob;
const selection = await selectBackend(job.engine);
const engineDetail = selection.attempts.find((a) => a.outcome === "active")?.detail ?? job.engine;
const tensorBytes = () => tf.memory().numBytes;
const engineRss = process.memoryUsage().rss;

const detector = checkSource(job.source).detectors[0];
if (!detector) throw new Error("the benchmark's spec does not check");
const { spec } = detector;
const model = buildFasterRCNN(spec);
initialiseWeights(model, { specDir: ".", init: job.initialWeights });
const weights = tensorBytes();

const { examples, pixelBytes } = readBenchExamples(job.inputs, model.transform);
const imagesBytes = pixelBytes + examples.reduce((sum, e) => sum + e.image.data.byteLength, 0);

// Tensors alive when the forward pass returns, over those before it: what the tape keeps for the
// backward pass (the losses are a few scalars).
let keptForBackward = 0;
const computeLosses = model.computeLosses.bind(model);
model.computeLosses = (...args) => {
  const before = tensorBytes();
  const losses = computeLosses(...args);
  keptForBackward = Math.max(keptForBackward, tensorBytes() - before);
  return losses;
};

const train = spec.settings.train;
const sgd = new SGD(train.momentum as number, train.weight_decay as number);
const trainable = new Map(model.trainableVariables().map((v) => [v.name, v]));
const gradients = [...trainable.values()].reduce((sum, v) => sum + v.size * 4, 0);

const trainMs: number[] = [];
let allFinite = true;
let jsHeap = 0;
let arrayBuffers = 0;
for (let step = 0; step < job.warmupSteps + job.steps; step++) {
  const wall = performance.now();
  const losses = trainStep(model, sgd, trainable, examples, job.lr);
  if (step >= job.warmupSteps) trainMs.push(performance.now() - wall);
  allFinite &&= Object.values(losses).every(Number.isFinite);
  const usage = process.memoryUsage();
  jsHeap = Math.max(jsHeap, usage.heapUsed);
  arrayBuffers = Math.max(arrayBuffers, usage.arrayBuffers);
}
// One more step under tf.profile for the most tensor bytes alive at once (it records every kernel,
// so it is not timed).
const { peakBytes } = await tf.profile(() => trainStep(model, sgd, trainable, examples, job.lr));
const optimizerState = [...sgd.buffers.values()].reduce((sum, v) => sum + v.size * 4, 0);

function wasmHeap(): number | undefined {
  return (tf.backend() as { wasm?: { HEAPU8: Uint8Array } }).wasm?.HEAPU8.length;
}

const result: MemoryResult = {
  engine: engineDetail,
  trainMs,
  allFinite,
  maxRssKb: process.resourceUsage().maxRSS,
  ...(wasmHeap() !== undefined && { wasmHeapBytes: wasmHeap() }),
  profile: {
    engineRss,
    weights,
    images: imagesBytes,
    keptForBackward,
    gradients,
    optimizerState,
    peakTensors: peakBytes,
    jsHeap,
    arrayBuffers,
  },
};
process.stdout.write(`${JSON.stringify(result)}\n`);
