/** The backward pass that frees as it goes (src/engine/gradients.ts) against tfjs's own. */
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import { buildFasterRCNN, type FasterRCNN } from "../../src/detection/faster-rcnn.js";
import { randomFromState } from "../../src/util/random.js";
import type { FloatImage } from "../../src/data/transforms.js";
import { selectBackend } from "../../src/engine/backend.js";
import { variableGrads } from "../../src/engine/gradients.js";
import { tinyDetectorSource } from "../support/tiny-detector.js";

let model: FasterRCNN;
const random = randomFromState(5);
// Large enough for activations, not the heads' matching, to make the peak.
const SIZE = 256;
const image: FloatImage = { width: SIZE, height: SIZE, data: Float32Array.from({ length: SIZE * SIZE * 3 }, (_, i) => ((i * 37) % 256) / 255) };
const target = { boxes: [[8, 10, 140, 144] as [number, number, number, number]], labels: [2] };

beforeAll(async () => {
  await selectBackend("auto");
  const spec = checkSource(tinyDetectorSource({ train: "seed 3 frozen_batch_norm false" }).replace("input 64", `input ${SIZE}`)).detectors[0]!.spec;
  model = buildFasterRCNN(spec, { namePrefix: "gradients-test/", random });
}, 60_000);
afterAll(() => model.dispose());

/** The summed losses, the samplers drawing from `state`, so that two passes sample alike. */
const loss = (state: number) => () => {
  random.state = state;
  const losses = model.computeLosses([image], [target]);
  return tf.addN(Object.values(losses)) as tf.Scalar;
};

describe("variableGrads", () => {
  it("gives tfjs's gradients at a lower peak, and leaves no tensor behind but the value and the gradients", async () => {
    const trainable = model.trainableVariables();
    const state = random.state;
    const before = tf.memory().numTensors;
    // tf.profile reuses one object for every profile: read it before the next.
    const leanProfile = await tf.profile(() => variableGrads(loss(state), trainable));
    const { peakBytes: leanPeak, result: lean } = leanProfile as unknown as { peakBytes: number; result: ReturnType<typeof variableGrads> };
    const leanTensors = tf.memory().numTensors - before;
    const referenceProfile = await tf.profile(() => tf.variableGrads(loss(state), trainable));
    const { peakBytes: referencePeak, result: reference } = referenceProfile as unknown as { peakBytes: number; result: ReturnType<typeof variableGrads> };
    // What it is for: the weights are a fixed part of both peaks, the rest shrinks.
    const weights = trainable.reduce((sum, v) => sum + v.size * 4, 0);
    expect(leanPeak - weights).toBeLessThan(0.7 * (referencePeak - weights));
    expect(leanTensors).toBe(1 + Object.keys(lean.grads).length);
    expect(Object.keys(lean.grads).sort()).toEqual(Object.keys(reference.grads).sort());
    expect(lean.value.dataSync()[0]).toBe(reference.value.dataSync()[0]);
    for (const [name, gradient] of Object.entries(reference.grads)) {
      const difference = tf.tidy(() => tf.max(tf.abs(tf.sub(gradient, lean.grads[name]!))).dataSync()[0]!);
      expect(difference, name).toBeLessThanOrEqual(1e-6);
    }
    tf.dispose([lean.value, reference.value, ...Object.values(lean.grads), ...Object.values(reference.grads)]);
  });

  it("frees the tape when the forward pass throws", () => {
    const before = tf.memory().numTensors;
    expect(() =>
      variableGrads(() => {
        model.computeLosses([image], [target]);
        throw new Error("bad batch");
      }, model.trainableVariables()),
    ).toThrow("bad batch");
    expect(tf.memory().numTensors).toBe(before);
  });
});
