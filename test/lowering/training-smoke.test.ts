/**
 * One training step per family the zoo gained with concatenations, average pools, means and
 * windowed attention:
 * gradients reach every trainable variable through the new operations, and an SGD step on them
 * lowers the loss. (Forward values are checked against torchvision in parity.test.ts.)
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, expect, it } from "vitest";
import { lowerBackbone } from "../../src/lowering/backbone.js";
import { resolveTap } from "../../src/zoo/graph.js";
import { findBackbone } from "../../src/zoo/index.js";
import { selectBackend } from "../../src/engine/backend.js";

// AlexNet's 11×11/4 stem and three 3×3/2 pools need about 64 pixels.
const INPUT = [2, 64, 64, 3] as const;

// The engine `detc run` trains on.
beforeAll(() => selectBackend("auto"));

it.each([
  ["squeezenet1_1", "features.7"],
  ["alexnet", "features.5"],
  ["mnasnet0_5", "layers.9"],
  ["densenet121", "features.transition1"],
  ["googlenet", "inception3b"],
  ["inception_v3", "Mixed_5b"],
  // Shifted windows at 16×16 and 8×8 (padded to 21 and 14): roll, masks, the position table's gather.
  ["swin_t", "features.3"],
  // Its post-norm blocks make the loss steep here (gradient norms ~40): 0.01 overshoots, 1e-4 does
  // not. Its gradients are torchvision's (parity.test.ts).
  ["swin_v2_t", "features.3", 1e-4],
])("%s trains at %s: every trainable variable gets a gradient and one SGD step lowers the loss", (network, tap, learningRate = 0.01) => {
  const graph = findBackbone(network)!.graph();
  const backbone = lowerBackbone(graph, { taps: [resolveTap(graph, tap)!.name], trainableStages: Infinity, frozenBatchNorm: false, seed: 0 });
  const images = tf.randomUniform([...INPUT], -1, 1, "float32", 7) as tf.Tensor4D;
  const loss = () => tf.mean(tf.square(backbone.apply(images, { training: true })[0]!)) as tf.Scalar;
  try {
    const { value, grads } = tf.variableGrads(loss);
    const trainable = [...backbone.variables.values()].filter((v) => v.trainable);
    expect(Object.keys(grads).sort()).toEqual(trainable.map((v) => v.name).sort());
    for (const variable of trainable) {
      const norm = tf.norm(grads[variable.name]!).dataSync()[0]!;
      expect(Number.isFinite(norm) && norm > 0, `gradient of ${variable.name}: ${norm}`).toBe(true);
    }
    tf.train.sgd(learningRate).applyGradients(grads);
    const after = tf.tidy(loss);
    expect(after.dataSync()[0]!).toBeLessThan(value.dataSync()[0]!);
    tf.dispose([value, after, ...Object.values(grads)]);
  } finally {
    images.dispose();
    backbone.dispose();
  }
});
