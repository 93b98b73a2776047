/**
 * One detc measurement of bench/training.ts: a config on one engine, in a process of its own so
 * that the peak RSS it reports is this run's alone. The job comes as JSON in argv[2]; the result
 * goes to stdout as one JSON line.
 */
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../src/check/index.js";
import { buildFasterRCNN } from "../src/detection/faster-rcnn.js";
import { selectBackend } from "../src/engine/backend.js";
import { SGD } from "../src/train/optimizer.js";
import { trainStep } from "../src/train/trainer.js";
import { initialiseWeights } from "../src/weights/load-weights.js";
import { readBenchExamples } from "./bench-examples.js";
import type { DetcJob, RunResult } from "./training.js";

const job = JSON.parse(process.argv[2]!) as DetcJob;
const selection = await selectBackend(job.engine);
const engineDetail = selection.attempts.find((a) => a.outcome === "active")!.detail;
// The parent sets TensorFlow's pools (TF_NUM_INTRAOP_THREADS); tfjs-wasm says how many it runs.
const threads = job.engine === "wasm" ? (await import("@tensorflow/tfjs-backend-wasm")).getThreadsCount() : job.threads;

const detector = checkSource(job.source).detectors[0];
if (!detector) throw new Error("the benchmark's spec does not check");
const { spec } = detector;
const model = buildFasterRCNN(spec);
const [weights] = initialiseWeights(model, { specDir: ".", init: job.initialWeights });
const { images, examples } = readBenchExamples(job.inputs, model.transform);

// Proposals per image of the last forward pass, to check both sides keep as many.
let proposalsPerImage: number[] = [];
const rpnForward = model.rpn.forward.bind(model.rpn);
model.rpn.forward = (...args) => {
  const output = rpnForward(...args);
  proposalsPerImage = output.proposals.map((p) => p.shape[0]);
  return output;
};

const train = spec.settings.train;
const sgd = new SGD(train.momentum as number, train.weight_decay as number);
const trainable = new Map(model.trainableVariables().map((v) => [v.name, v]));
const cpuMilliseconds = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const trainMs: number[] = [];
const trainCpuMs: number[] = [];
let losses: Record<string, number> = {};
let allFinite = true;
let trainProposals: number[] = [];
const inferMs: number[] = [];
let detections: number[] = [];
try {
  for (let step = 0; step < job.warmupSteps + job.steps; step++) {
    const wall = performance.now();
    const cpu = cpuMilliseconds();
    losses = trainStep(model, sgd, trainable, examples, job.lr);
    if (step >= job.warmupSteps) {
      trainMs.push(performance.now() - wall);
      trainCpuMs.push(cpuMilliseconds() - cpu);
    }
    allFinite &&= Object.values(losses).every(Number.isFinite);
  }
  trainProposals = proposalsPerImage;

  for (let run = 0; run < 1 + job.inferenceRuns; run++) {
    const wall = performance.now();
    detections = (await model.predict(images)).map((d) => d.boxes.length);
    if (run > 0) inferMs.push(performance.now() - wall);
  }
} catch (error) {
  // A full WASM heap shows as odd errors (out-of-bounds access, garbage indices): say how full it was.
  if (job.engine !== "wasm") throw error;
  const heapBytes = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  throw new Error(`${(error as Error).message} (WASM heap at ${(heapBytes / 2 ** 20).toFixed(0)} MB; wasm32 allows 4096 MB)`);
}

const result: RunResult = {
  engine: engineDetail,
  threads,
  trainMs,
  trainCpuMs,
  inferMs,
  losses,
  allFinite,
  images: examples.length,
  boxes: examples.reduce((sum, e) => sum + e.boxes.length, 0),
  proposals: { train: trainProposals, test: proposalsPerImage },
  detections,
  weightsLoaded: { loaded: weights!.loaded.length, of: model.variables().size },
  maxRssKb: process.resourceUsage().maxRSS,
};
process.stdout.write(`${JSON.stringify(result)}\n`);
