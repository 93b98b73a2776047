/**
 * Lowered backbones compute what torchvision computes: with the same formula weights and image,
 * every tap's output matches create_feature_extractor's, in eval and training mode, and so do the
 * gradients (goldens from make_lowering_goldens.py).
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { lowerBackbone, type LoweredBackbone } from "../../src/lowering/backbone.js";
import { resolveTap } from "../../src/zoo/graph.js";
import { findBackbone } from "../../src/zoo/index.js";
import { formulaImages, loadFormulaWeights } from "./formula.js";
import { expectMatchesSummary, goldens, toNchw, useBackend, type TensorSummary } from "./support.js";

const TOLERANCE = 1e-4;
const golden = goldens();

function lowered(network: string, taps: readonly string[], frozenBatchNorm: boolean, batchNormEps?: number): LoweredBackbone {
  const graph = findBackbone(network)!.graph();
  const nodes = taps.map((tap) => resolveTap(graph, tap)!.name);
  const backbone = lowerBackbone(graph, { taps: nodes, trainableStages: Infinity, frozenBatchNorm, seed: 0, ...(batchNormEps !== undefined && { batchNormEps }) });
  loadFormulaWeights(backbone);
  return backbone;
}

describe("on wasm", () => {
  beforeAll(() => useBackend("wasm"));

  /** The taps' outputs in eval mode against torchvision's summaries. */
  function expectOutputs(network: string, expected: Record<string, TensorSummary>, frozenBatchNorm: boolean, batchNormEps?: number) {
    const backbone = lowered(network, Object.keys(expected), frozenBatchNorm, batchNormEps);
    try {
      const images = formulaImages(golden.input);
      const outputs = backbone.apply(images, { training: false });
      Object.values(expected).forEach((summary, i) => tf.tidy(() => expectMatchesSummary(toNchw(outputs[i]!), summary, TOLERANCE)));
      tf.dispose([images, ...outputs]);
    } finally {
      backbone.dispose();
    }
  }

  it.each(Object.entries(golden.forward))("%s matches torchvision at every tap", (network, expected) =>
    expectOutputs(network, expected, false),
  );

  // FrozenBatchNorm2d as a network's norm_layer: its eps 1e-5 replaces MobileNetV3's own 1e-3.
  it("frozen batch norm at `batch_norm_eps 1e-5` is torchvision's FrozenBatchNorm2d", () =>
    expectOutputs(golden.frozenBatchNorm.network, golden.frozenBatchNorm.outputs, true, 1e-5));

  it("trainable batch norm in training mode normalises by batch statistics and updates running ones", () => {
    const { network, outputs: expected, runningStatistics } = golden.training;
    const backbone = lowered(network, Object.keys(expected), false);
    try {
      const images = formulaImages(golden.input);
      const outputs = backbone.apply(images, { training: true });
      Object.values(expected).forEach((summary, i) => tf.tidy(() => expectMatchesSummary(toNchw(outputs[i]!), summary, TOLERANCE)));
      for (const [key, summary] of Object.entries(runningStatistics))
        expectMatchesSummary(backbone.variables.get(key)!, summary, TOLERANCE);
      expect(backbone.variables.get("bn1.num_batches_tracked")!.dataSync()[0]).toBe(1);
      tf.dispose([images, ...outputs]);
    } finally {
      backbone.dispose();
    }
  });
});

// wasm has no Conv2DBackpropFilter / DepthwiseConv2dNativeBackprop* kernels: gradients run on cpu.
describe("on cpu", () => {
  beforeAll(() => useBackend("cpu"));

  it.each(Object.entries(golden.gradients))("%s has torchvision's gradients", (network, expected) => {
    const backbone = lowered(network, expected.taps, false);
    try {
      const images = formulaImages(expected.input ?? golden.gradientInput);
      const { value, grads } = tf.variableGrads(() => {
        const outputs = backbone.apply(images, { training: false });
        return tf.addN(outputs.map((o) => tf.mean(tf.square(o)))) as tf.Scalar;
      });
      expect(Math.abs(value.dataSync()[0]! - expected.loss) / expected.loss).toBeLessThanOrEqual(TOLERANCE);
      for (const [key, summary] of Object.entries(expected.gradients)) {
        const gradient = backbone.toTorchLayout(key, grads[backbone.variables.get(key)!.name]!);
        expectMatchesSummary(gradient, summary, TOLERANCE);
        gradient.dispose();
      }
      tf.dispose([images, value, ...Object.values(grads)]);
    } finally {
      backbone.dispose();
    }
  });
});
