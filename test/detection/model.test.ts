/**
 * The assembled Faster R-CNN: torchvision's parameter counts and state-dict keys for every example,
 * a few SGD steps that lower the loss without leaking tensors, and predictions in image pixels.
 */
import { readdirSync, readFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import type { DetectorSummary } from "../../src/check/summary.js";
import { buildFasterRCNN, type FasterRCNN, type FasterRCNNLosses } from "../../src/detection/faster-rcnn.js";
import { RoIHeads } from "../../src/detection/roi-heads.js";
import { selectBackend } from "../../src/engine/backend.js";
import type { EngineChoice } from "../../src/engine/engines.js";
import { relativeError } from "../weights/support.js";

const examples = new URL("../../examples/", import.meta.url);

function detector(source: string): DetectorSummary {
  const { detectors, diagnostics } = checkSource(source);
  expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return detectors[0]!;
}

/** torchvision's counts for the seed tutorial's detectors (make_goldens.py). */
const goldens = JSON.parse(readFileSync(new URL("../fixtures/detectors.json", import.meta.url), "utf8")) as {
  detectors: Record<string, { parameters: Record<string, number> }>;
};

/** A state-dict key's shape in torchvision's layout. */
const torchShape = (model: FasterRCNN, key: string) => {
  const tensor = model.toTorchLayout(key, model.variables().get(key)!);
  const shape = tensor.shape;
  tensor.dispose();
  return shape;
};

describe("buildFasterRCNN on every example", () => {
  beforeAll(() => selectBackend("wasm"));

  // Building allocates and initialises every variable but runs nothing.
  it.each(readdirSync(examples).filter((file) => file.endsWith(".det")))("%s: parameter counts equal detc check's", (file) => {
    const summary = detector(readFileSync(new URL(file, examples), "utf8"));
    const model = buildFasterRCNN(summary.spec);
    try {
      expect(model.parameterCounts()).toEqual(summary.parameters);
      const golden = goldens.detectors[file.replace(/\.det$/, "")];
      if (golden) expect(model.parameterCounts()).toEqual(golden.parameters);
    } finally {
      model.dispose();
    }
  });
});

// mobilenet_v3_small: features.3 / .8 / .12 are 24 / 48 / 576 channels at strides 8 / 16 / 32.
const TINY = `
detector tiny
backbone mobilenet_v3_small trainable 1
tap features.3, features.8, features.12
fpn 16 extra maxpool
anchors sizes 16, 32, 64, 128 ratios 0.5, 1.0, 2.0
roi align 7 sampling 2
classes 3
input 128
rpn pre_nms_top_n_train 200 post_nms_top_n_train 200 pre_nms_top_n_test 200 post_nms_top_n_test 50
box representation_size 64
`;

/**
 * tfjs's WASM backend has no convolution gradients; training runs on cpu until ours are
 * registered (the pure-JS ones are slow, hence `trainable 1` and a narrow FPN above).
 */
const CONVOLUTION_GRADIENTS = ["Conv2DBackpropFilter", "DepthwiseConv2dNativeBackpropInput", "DepthwiseConv2dNativeBackpropFilter"];

/** Two flat-coloured squares on grey, 128×128, floats in [0, 1]. */
function syntheticImage() {
  const size = 128;
  const data = new Float32Array(size * size * 3).fill(0.3);
  const objects = [
    { box: [20, 30, 60, 70], channel: 0 },
    { box: [70, 60, 110, 110], channel: 1 },
  ];
  for (const { box: [x1, y1, x2, y2], channel } of objects)
    for (let y = y1!; y < y2!; y++) for (let x = x1!; x < x2!; x++) data[(y * size + x) * 3 + channel] = 0.9;
  const target = { boxes: objects.map(({ box: [x1, y1, x2, y2] }) => [x1!, y1!, x2!, y2!] as const), labels: [1, 2] };
  return { image: { width: size, height: size, data }, target };
}

describe("a tiny Faster R-CNN (mobilenet_v3_small, FPN, 3 classes, input 128)", () => {
  let model: FasterRCNN;

  beforeAll(async () => {
    await selectBackend("wasm");
    const wasmTrains = CONVOLUTION_GRADIENTS.every((kernel) => tf.getKernel(kernel, "wasm") !== undefined);
    await selectBackend((wasmTrains ? "wasm" : "cpu") satisfies EngineChoice);
    model = buildFasterRCNN(detector(TINY).spec, { seed: 0 });
  });
  afterAll(() => model.dispose());

  it("keys its variables by torchvision's state-dict keys, convertible to torchvision's shapes", () => {
    const body = JSON.parse(readFileSync(new URL("../fixtures/zoo/mobilenet_v3_small.json", import.meta.url), "utf8")) as {
      stateDict: Record<string, number[]>;
    };
    const keys = [...model.variables().keys()];
    for (const key of keys.filter((k) => k.startsWith("backbone.body."))) {
      expect(torchShape(model, key), key).toEqual(body.stateDict[key.slice("backbone.body.".length)]);
    }
    const heads: Record<string, number[]> = {
      "backbone.fpn.inner_blocks.0.0.weight": [16, 24, 1, 1],
      "backbone.fpn.inner_blocks.1.0.weight": [16, 48, 1, 1],
      "backbone.fpn.inner_blocks.2.0.weight": [16, 576, 1, 1],
      "backbone.fpn.inner_blocks.2.0.bias": [16],
      "backbone.fpn.layer_blocks.0.0.weight": [16, 16, 3, 3],
      "backbone.fpn.layer_blocks.2.0.bias": [16],
      "rpn.head.conv.0.0.weight": [16, 16, 3, 3],
      "rpn.head.conv.0.0.bias": [16],
      "rpn.head.cls_logits.weight": [3, 16, 1, 1],
      "rpn.head.bbox_pred.weight": [12, 16, 1, 1],
      "rpn.head.bbox_pred.bias": [12],
      "roi_heads.box_head.fc6.weight": [64, 16 * 7 * 7],
      "roi_heads.box_head.fc7.weight": [64, 64],
      "roi_heads.box_predictor.cls_score.weight": [3, 64],
      "roi_heads.box_predictor.cls_score.bias": [3],
      "roi_heads.box_predictor.bbox_pred.weight": [12, 64],
    };
    for (const [key, shape] of Object.entries(heads)) expect(torchShape(model, key), key).toEqual(shape);
    expect(keys.filter((k) => !k.startsWith("backbone.body."))).toHaveLength(12 + 6 + 8);
    // The shape-only path (what loading compares a file's shapes with) gives the converted tensors' shapes:
    // convs, depthwise convs, linears, fc6 and as-is entries alike.
    for (const key of keys) expect(model.torchShape(key), key).toEqual(torchShape(model, key));
  });

  it("reads torchvision's fc6 (C·H·W inputs) on NHWC pooled boxes: the import permutation matches torch's flatten", () => {
    const key = "roi_heads.box_head.fc6.weight";
    const [out, flattened] = torchShape(model, key) as [number, number];
    const [channels, resolution] = [16, 7];
    const torchWeight = tf.randomNormal([out, flattened], 0, 1, "float32", 3);
    const pooled = tf.randomNormal([5, resolution, resolution, channels], 0, 1, "float32", 4) as tf.Tensor4D;
    // torch: flatten(NCHW boxes) @ weightᵀ
    const expected = tf.matMul(tf.transpose(pooled, [0, 3, 1, 2]).reshape([5, flattened]), torchWeight, false, true);
    const ours = tf.tensor2d(model.fromTorchLayout(key, torchWeight.dataSync() as Float32Array, torchWeight.shape), [flattened, out]);
    const actual = tf.matMul(pooled.reshape([5, flattened]), ours);
    expect(relativeError(actual.dataSync(), expected.dataSync())).toBeLessThan(1e-5);
    expect(model.toTorchLayout(key, ours).dataSync()).toEqual(torchWeight.dataSync());
    tf.dispose([torchWeight, pooled, expected, ours, actual]);
  });

  it("lowers the loss with a few SGD steps, training only the unfrozen variables, without leaking tensors", () => {
    const { image, target } = syntheticImage();
    const optimizer = tf.train.momentum(0.02, 0.9);
    const frozen = model.variables().get("backbone.body.features.0.0.weight")!;
    const lastStage = model.variables().get("backbone.body.features.12.0.weight")!;
    expect([frozen.trainable, lastStage.trainable]).toEqual([false, true]);
    const before = [frozen, lastStage].map((v) => v.dataSync().slice());
    const totals: number[] = [];
    const tensorCounts: number[] = [];
    for (let step = 0; step < 3; step++) {
      let losses: FasterRCNNLosses | undefined;
      const total = optimizer.minimize(
        () => {
          losses = model.computeLosses([image], [target]);
          Object.values(losses).forEach((loss) => tf.keep(loss));
          return tf.addN(Object.values(losses)) as tf.Scalar;
        },
        true,
        model.trainableVariables(),
      )!;
      expect(Object.keys(losses!).sort()).toEqual(["loss_box_reg", "loss_classifier", "loss_objectness", "loss_rpn_box_reg"]);
      expect(Object.values(losses!).every((loss) => loss.rank === 0 && Number.isFinite(loss.dataSync()[0]))).toBe(true);
      totals.push(total.dataSync()[0]!);
      tf.dispose([total, ...Object.values(losses!)]);
      tensorCounts.push(tf.memory().numTensors);
    }
    optimizer.dispose();
    expect(totals[2]).toBeLessThan(totals[0]!);
    // The first step creates the optimizer's momentum buffers; after it nothing accumulates.
    expect(new Set(tensorCounts.slice(1)).size).toBe(1);
    expect(Array.from(frozen.dataSync())).toEqual(Array.from(before[0]!));
    expect(Array.from(lastStage.dataSync())).not.toEqual(Array.from(before[1]!));
  });

  it("trains on an image without objects: every sample is background, no box loss", () => {
    const { image } = syntheticImage();
    const losses = model.computeLosses([image], [{ boxes: [], labels: [] }]);
    const values = Object.fromEntries(Object.entries(losses).map(([name, loss]) => [name, loss.dataSync()[0]!]));
    tf.dispose(Object.values(losses));
    expect(values).toMatchObject({ loss_rpn_box_reg: 0, loss_box_reg: 0 });
    expect(values.loss_objectness).toBeGreaterThan(0);
    expect(values.loss_classifier).toBeGreaterThan(0);
  });

  it("detects the same through the box head in chunks of proposals as in one pass", () => {
    const width = 128;
    const data = new Float32Array(width * width * 3).map((_, i) => ((i * 37) % 256) / 255);
    const heads = model.roiHeads;
    // 16 channels × 7 × 7 floats a box: chunks of 7 boxes, so each image's 50 proposals take 8.
    const chunked = new RoIHeads(heads.boxRoiPool, heads.boxHead, heads.boxPredictor, heads.settings, heads.random, 16 * 7 * 7 * 4 * 7);
    const [inOnePass, inChunks] = tf.tidy(() => {
      const imageList = model.transform.batch([{ width, height: width, data }, { width, height: width, data: data.map((v) => 1 - v) }]);
      const features = model.features(imageList.tensors, false);
      const { proposals } = model.rpn.forward(imageList, [...features.values()], false);
      expect(proposals.map((p) => p.shape[0])).toEqual([50, 50]);
      return [heads, chunked].map((roiHeads) =>
        roiHeads.detect(features, proposals, imageList.imageSizes).map(({ boxes, scores, labels }) => [boxes.arraySync(), scores.arraySync(), labels.arraySync()]),
      );
    });
    expect(inOnePass!.flat(3).length).toBeGreaterThan(0);
    expect(inChunks!.map((image) => image[2])).toEqual(inOnePass!.map((image) => image[2]));
    const flat = (detections: typeof inOnePass) => detections!.flatMap((image) => [image[0], image[1]]).flat(2) as number[];
    expect(relativeError(flat(inChunks), flat(inOnePass))).toBeLessThan(1e-5);
  });

  it("predicts boxes in the original image's pixels, by decreasing score, without leaking tensors", async () => {
    const width = 200;
    const height = 150;
    const data = new Uint8Array(width * height * 3).map((_, i) => (i * 37) % 256);
    const count = tf.memory().numTensors;
    const [detection] = await model.predict([{ width, height, data }]);
    expect(tf.memory().numTensors).toBe(count);
    const { boxes, labels, scores } = detection!;
    expect(boxes.length).toBeGreaterThan(0);
    expect(boxes.length).toBeLessThanOrEqual(100);
    expect([labels.length, scores.length]).toEqual([boxes.length, boxes.length]);
    for (const [x1, y1, x2, y2] of boxes) {
      expect(0 <= x1 && x1 < x2 && x2 <= width && 0 <= y1 && y1 < y2 && y2 <= height).toBe(true);
    }
    expect(labels.every((label) => label === 1 || label === 2)).toBe(true);
    expect(scores.every((score, i) => score > 0.05 && score <= 1 && (i === 0 || score <= scores[i - 1]!))).toBe(true);
  });
});
