/**
 * `train recompute_stages`: each trainable backbone stage keeps only its input for the backward
 * pass and runs again there. The same gradients and running statistics as the plain path, less
 * kept for backward.
 */
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import { variableGrads } from "../../src/engine/gradients.js";
import { lowerBackbone, type LoweredBackbone, type LoweringOptions } from "../../src/lowering/backbone.js";
import { resolveTap } from "../../src/zoo/graph.js";
import { findBackbone } from "../../src/zoo/index.js";
import { tinyDetectorSource } from "../support/tiny-detector.js";
import { selectBackend } from "../../src/engine/backend.js";

beforeAll(async () => {
  await selectBackend("auto");
});

let live: LoweredBackbone[] = [];
afterEach(() => {
  live.forEach((b) => b.dispose());
  live = [];
});

function lower(network: string, taps: readonly string[], options: Partial<LoweringOptions>): LoweredBackbone {
  const graph = findBackbone(network)!.graph();
  const backbone = lowerBackbone(graph, {
    taps: taps.map((tap) => resolveTap(graph, tap)!.name),
    trainableStages: 10,
    frozenBatchNorm: false,
    seed: 4,
    ...options,
  });
  live.push(backbone);
  return backbone;
}

interface Pass {
  readonly grads: Map<string, Float32Array>;
  readonly runningStatistics: Map<string, Float32Array>;
  /** Tensor bytes alive when the forward pass returns, over those before it. */
  readonly keptBytes: number;
}

/** One training step's gradients of `Σ_tap mean(tap · w_tap)` for every trainable variable, by state-dict key. */
function trainingPass(backbone: LoweredBackbone, images: tf.Tensor4D): Pass {
  let keptBytes = 0;
  const { value, grads } = variableGrads(() => {
    const before = tf.memory().numBytes;
    const maps = backbone.apply(images, { training: true });
    keptBytes = tf.memory().numBytes - before;
    const terms = maps.map((map, i) => tf.mean(tf.mul(map, tf.randomUniform(map.shape, -1, 1, "float32", 20 + i))));
    return tf.addN(terms) as tf.Scalar;
  }, [...backbone.variables.values()]);
  const keyOf = new Map([...backbone.variables].map(([key, v]) => [v.name, key]));
  const byKey = new Map(Object.entries(grads).map(([name, g]) => [keyOf.get(name)!, g.dataSync() as Float32Array]));
  const runningStatistics = new Map(
    [...backbone.variables].filter(([key]) => key.endsWith("running_mean") || key.endsWith("running_var")).map(([key, v]) => [key, v.dataSync() as Float32Array]),
  );
  tf.dispose([value, ...Object.values(grads)]);
  return { grads: byKey, runningStatistics, keptBytes };
}

function expectSameNumbers(actual: ReadonlyMap<string, Float32Array>, expected: ReadonlyMap<string, Float32Array>): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [key, values] of expected) {
    const ours = actual.get(key)!;
    const worst = values.reduce((max, v, i) => Math.max(max, Math.abs(v - ours[i]!) / Math.max(1, Math.abs(v))), 0);
    expect(worst, key).toBeLessThanOrEqual(1e-5);
  }
}

describe("recomputing trainable stages in the backward pass", () => {
  it.each([
    // Hard-swish, squeeze-excitation, trained batch norm; two taps, so a stage with two outputs.
    ["mobilenet_v3_small", ["features.3", "features.8"], {}],
    // Residual blocks, the stem and layer1 frozen (off the tape), layer2 recomputed.
    ["resnet18", ["layer2"], { trainableStages: 1 }],
  ] as const)("%s at %s: the plain path's gradients and running statistics, less kept for backward", (network, taps, options) => {
    const images = tf.randomNormal([2, 64, 64, 3], 0, 1, "float32", 3) as tf.Tensor4D;
    const plain = trainingPass(lower(network, taps, options), images);
    const recomputed = trainingPass(lower(network, taps, { ...options, recomputeStages: true, namePrefix: "r." }), images);
    expect(plain.grads.size).toBeGreaterThan(0);
    expectSameNumbers(recomputed.grads, plain.grads);
    expectSameNumbers(recomputed.runningStatistics, plain.runningStatistics);
    expect(recomputed.keptBytes).toBeLessThan(plain.keptBytes / 2);
    images.dispose();
  });

  it("leaves no tensor behind, and does nothing outside training", () => {
    const backbone = lower("mobilenet_v3_small", ["features.3"], { recomputeStages: true });
    const images = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 5) as tf.Tensor4D;
    const [map] = backbone.apply(images, { training: false });
    const plain = lower("mobilenet_v3_small", ["features.3"], { namePrefix: "p." }).apply(images, { training: false });
    expect(map!.dataSync()).toEqual(plain[0]!.dataSync());
    tf.dispose([map!, ...plain]);
    const before = tf.memory().numTensors;
    const pass = trainingPass(backbone, images);
    expect(pass.grads.size).toBe([...backbone.variables.values()].filter((v) => v.trainable).length);
    expect(tf.memory().numTensors).toBe(before);
    images.dispose();
  });

  it("is the spec's `train recompute_stages`, off by default", () => {
    const spec = (train: string) => checkSource(tinyDetectorSource({ train })).detectors[0]!.spec.settings.train;
    expect(spec("seed 1").recompute_stages).toBe(false);
    expect(spec("recompute_stages true").recompute_stages).toBe(true);
    const { diagnostics } = checkSource(tinyDetectorSource({ train: "recompute_stages 1" }));
    expect(diagnostics.map((d) => d.code)).toEqual(["E070"]);
  });
});
