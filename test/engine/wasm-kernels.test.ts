/** Our WASM kernels compute what the cpu backend computes, leak nothing, and make training run on wasm. */
import * as tf from "@tensorflow/tfjs";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import { syntheticDataset } from "../../src/data/synthetic.js";
import { prepareExample } from "../../src/data/transforms.js";
import { buildFasterRCNN } from "../../src/detection/faster-rcnn.js";
import { randomFromState } from "../../src/util/random.js";
import { registerWasmKernels, WASM_KERNELS } from "../../src/engine/wasm-kernels/index.js";
import { patchMemory } from "../../src/engine/wasm-kernels/patches.js";
import { SGD } from "../../src/train/optimizer.js";
import { useBackend } from "../lowering/support.js";
import { tinyDetectorSource } from "../support/tiny-detector.js";

type Build = () => tf.Tensor;

const randomTensor = (shape: number[], seed: number) => {
  const random = randomFromState(seed);
  return tf.tensor(Float32Array.from({ length: tf.util.sizeFromShape(shape) }, () => random() * 2 - 1), shape);
};

/** `build`'s result on `backend`; on wasm, also checks that it left no tensor behind on the heap. */
async function resultOn(backend: "wasm" | "cpu", build: Build): Promise<{ shape: number[]; values: Float32Array | Int32Array }> {
  await useBackend(backend);
  const heapTensors = () => (backend === "wasm" ? (tf.backend() as BackendWasm).numDataIds() : 0);
  const before = heapTensors();
  const result = tf.tidy(build);
  const out = { shape: result.shape, values: result.dataSync() as Float32Array | Int32Array };
  result.dispose();
  expect(heapTensors(), "tensors left on the heap").toBe(before);
  return out;
}

/**
 * Same shape, and every value within `tolerance` × the largest |value| of the cpu backend's result
 * (of `reference`, where the cpu backend needs another route to the right answer).
 */
async function expectSameAsCpu(build: Build, tolerance = 1e-5, reference: Build = build): Promise<void> {
  const wasm = await resultOn("wasm", build);
  const cpu = await resultOn("cpu", reference);
  expect(wasm.shape).toEqual(cpu.shape);
  let scale = 1e-30;
  for (const value of cpu.values) scale = Math.max(scale, Math.abs(value));
  let worst = 0;
  let worstAt = -1;
  cpu.values.forEach((expected, i) => {
    const error = Math.abs(wasm.values[i]! - expected) / scale;
    if (!(error <= worst)) [worst, worstAt] = [error, i];
  });
  expect(worst, `element ${worstAt}: ${wasm.values[worstAt]} vs ${cpu.values[worstAt]}`).toBeLessThanOrEqual(tolerance);
}

const run = (kernelName: string, inputs: tf.NamedTensorMap, attrs: object) =>
  tf.engine().runKernel(kernelName, inputs, attrs as tf.NamedAttrMap) as tf.Tensor;

type Padding = "same" | "valid" | number | tf.backend_util.ExplicitPadding;
interface ConvCase {
  name: string;
  input: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Padding;
  dilations?: number | [number, number];
  dimRoundingMode?: "floor" | "round" | "ceil";
}

const outputShape = (c: ConvCase, depthwise: boolean) =>
  tf.backend_util.computeConv2DInfo(c.input, c.filter, c.strides, c.dilations ?? 1, c.pad, c.dimRoundingMode, depthwise).outShape;

const DENSE: ConvCase[] = [
  { name: "3×3 stride 1 same", input: [2, 9, 7, 5], filter: [3, 3, 5, 4], strides: 1, pad: "same" },
  { name: "3×3 stride 2 same (asymmetric padding)", input: [2, 9, 8, 3], filter: [3, 3, 3, 6], strides: 2, pad: "same" },
  { name: "1×1 stride 2 valid (downsample)", input: [2, 8, 6, 16], filter: [1, 1, 16, 8], strides: 2, pad: "valid" },
  { name: "1×1 stride 1 valid", input: [1, 5, 4, 24], filter: [1, 1, 24, 20], strides: 1, pad: "valid" },
  { name: "7×7 stride 2 explicit 3 (stem)", input: [2, 17, 15, 3], filter: [7, 7, 3, 8], strides: 2, pad: [[0, 0], [3, 3], [3, 3], [0, 0]] },
  { name: "5×3 strides [1, 2] explicit uneven", input: [3, 10, 11, 4], filter: [5, 3, 4, 5], strides: [1, 2], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: "3×3 stride 1 valid", input: [2, 6, 9, 7], filter: [3, 3, 7, 3], strides: 1, pad: "valid" },
  { name: "3×3 stride 1 padding wider than the filter", input: [1, 5, 5, 2], filter: [3, 3, 2, 3], strides: 1, pad: [[0, 0], [3, 0], [0, 4], [0, 0]] },
  { name: "4×4 stride 3 numeric padding, round", input: [2, 11, 10, 3], filter: [4, 4, 3, 2], strides: 3, pad: 1, dimRoundingMode: "round" },
];

const DEPTHWISE: ConvCase[] = [
  { name: "3×3 stride 1 same", input: [2, 9, 7, 6], filter: [3, 3, 6, 1], strides: 1, pad: "same" },
  { name: "3×3 stride 2 same", input: [2, 9, 8, 5], filter: [3, 3, 5, 1], strides: 2, pad: "same" },
  { name: "5×5 stride 2 explicit", input: [1, 12, 11, 4], filter: [5, 5, 4, 1], strides: 2, pad: [[0, 0], [2, 2], [2, 2], [0, 0]] },
  { name: "7×7 stride 1 same (ConvNeXt)", input: [2, 8, 8, 8], filter: [7, 7, 8, 1], strides: 1, pad: "same" },
  { name: "multiplier 2, stride 1 valid", input: [2, 7, 6, 3], filter: [3, 3, 3, 2], strides: 1, pad: "valid" },
  { name: "multiplier 3, stride 2 same", input: [2, 8, 9, 2], filter: [3, 3, 2, 3], strides: 2, pad: "same" },
  { name: "dilation 2, stride 1 same", input: [1, 9, 10, 4], filter: [3, 3, 4, 2], strides: 1, pad: "same", dilations: 2 },
  { name: "3×2 strides [2, 1] explicit uneven", input: [2, 9, 7, 3], filter: [3, 2, 3, 1], strides: [2, 1], pad: [[0, 0], [0, 2], [1, 0], [0, 0]] },
];

beforeAll(async () => {
  await useBackend("wasm");
  registerWasmKernels();
});

describe("wasm kernels", () => {
  it("are registered for wasm, and registering twice changes nothing", () => {
    const registered = () => WASM_KERNELS.map((k) => tf.getKernel(k.kernelName, "wasm"));
    const first = registered();
    registerWasmKernels();
    expect(registered()).toEqual(first);
    expect(first.every((k) => k !== undefined)).toBe(true);
  });

  describe("Conv2DBackpropFilter", () => {
    it.each(DENSE)("$name", async (c) => {
      await expectSameAsCpu(() =>
        run(tf.Conv2DBackpropFilter, { x: randomTensor(c.input, 1), dy: randomTensor(outputShape(c, false), 2) }, {
          strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: c.dimRoundingMode, filterShape: c.filter,
        }),
      );
    });
  });

  describe("Conv2DBackpropInput", () => {
    it.each(DENSE)("$name", async (c) => {
      await expectSameAsCpu(() =>
        run(tf.Conv2DBackpropInput, { dy: randomTensor(outputShape(c, false), 2), filter: randomTensor(c.filter, 3) }, {
          strides: c.strides, pad: c.pad, dataFormat: "NHWC", dimRoundingMode: c.dimRoundingMode, inputShape: c.input,
        }),
      );
    });
  });

  // The cpu backend ignores a depthwise gradient's dilations: its reference is the undilated
  // gradient for the filter with zeros between the taps, which is the same convolution.
  const undilated = (c: ConvCase) => {
    const dilation = typeof c.dilations === "number" ? c.dilations : 1;
    const [kh, kw, channels, multiplier] = c.filter;
    const inflated: ConvCase = { ...c, dilations: 1, filter: [(kh - 1) * dilation + 1, (kw - 1) * dilation + 1, channels, multiplier] };
    const inflate = (filter: tf.Tensor) => {
      const spread = tf.buffer(inflated.filter);
      const values = filter.arraySync() as number[][][][];
      values.forEach((row, i) => row.forEach((taps, j) => taps.forEach((perChannel, c) => perChannel.forEach((v, m) => spread.set(v, i * dilation, j * dilation, c, m)))));
      return spread.toTensor();
    };
    const pickTaps = (gradient: tf.Tensor) => tf.stridedSlice(gradient, [0, 0, 0, 0], inflated.filter, [dilation, dilation, 1, 1]);
    return { inflated, inflate, pickTaps };
  };

  describe("DepthwiseConv2dNativeBackpropFilter", () => {
    const filterGradient = (c: ConvCase) =>
      run(tf.DepthwiseConv2dNativeBackpropFilter, { x: randomTensor(c.input, 1), dy: randomTensor(outputShape(c, true), 2) }, {
        strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, dimRoundingMode: c.dimRoundingMode, filterShape: c.filter,
      });
    it.each(DEPTHWISE)("$name", async (c) => {
      const { inflated, pickTaps } = undilated(c);
      await expectSameAsCpu(() => filterGradient(c), 1e-5, () => pickTaps(filterGradient(inflated)));
    });
  });

  describe("DepthwiseConv2dNativeBackpropInput", () => {
    const inputGradient = (c: ConvCase, filter: tf.Tensor) =>
      run(tf.DepthwiseConv2dNativeBackpropInput, { dy: randomTensor(outputShape(c, true), 2), filter }, {
        strides: c.strides, pad: c.pad, dilations: c.dilations ?? 1, dimRoundingMode: c.dimRoundingMode, inputShape: c.input,
      });
    it.each(DEPTHWISE)("$name", async (c) => {
      const { inflated, inflate } = undilated(c);
      await expectSameAsCpu(() => inputGradient(c, randomTensor(c.filter, 3)), 1e-5, () => inputGradient(inflated, inflate(randomTensor(c.filter, 3))));
    });
  });

  it("convolution gradients agree when the patches are built a band at a time", async () => {
    const saved = patchMemory.bandFloats;
    patchMemory.bandFloats = 500; // a few output rows per band
    try {
      const c = DENSE[1]!;
      const x = () => randomTensor(c.input, 1);
      const filter = () => randomTensor(c.filter, 3);
      await expectSameAsCpu(() => tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x() as tf.Tensor4D, f as tf.Tensor4D, 2, "same"))))(filter()));
      await expectSameAsCpu(() => tf.grad((input: tf.Tensor) => tf.sum(tf.square(tf.conv2d(input as tf.Tensor4D, filter() as tf.Tensor4D, 2, "same"))))(x()));
    } finally {
      patchMemory.bandFloats = saved;
    }
  });

  it("rejects channels-first data and shapes that disagree, instead of computing them wrongly", async () => {
    await useBackend("wasm");
    const x = tf.zeros([1, 4, 4, 3]);
    const dy = tf.zeros([1, 4, 4, 2]);
    const filterGradient = (filterShape: number[], dataFormat = "NHWC") =>
      run(tf.Conv2DBackpropFilter, { x, dy }, { strides: 1, pad: "same", dataFormat, filterShape });
    expect(() => filterGradient([1, 1, 3, 2], "NCHW")).toThrow(/NHWC only/);
    expect(() => filterGradient([1, 1, 5, 2])).toThrow(/disagree on the input channels/);
    expect(() => filterGradient([1, 1, 3, 7])).toThrow(/dy has shape \[1,4,4,2\], the convolution's output is \[1,4,4,7\]/);
    const depthwiseFilter = tf.zeros([3, 3, 4, 1]);
    expect(() => run(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: depthwiseFilter }, { strides: 1, pad: "same", dilations: 1, inputShape: [1, 4, 4, 3] })).toThrow(
      /disagree on the input channels/,
    );
    tf.dispose([x, dy, depthwiseFilter]);
  });

  describe("UnsortedSegmentSum", () => {
    const ids = [0, 2, -1, 2, 4, 1, 0, 5];
    it.each(["float32", "int32"] as const)("%s rows, ids out of range dropped", async (dtype) => {
      await expectSameAsCpu(() => run(tf.UnsortedSegmentSum, { x: randomTensor([8, 3, 2], 4).mul(10).cast(dtype), segmentIds: tf.tensor1d(ids, "int32") }, { numSegments: 5 }).cast("float32"));
    });
    it("is tf.gather's gradient", async () => {
      await expectSameAsCpu(() => tf.grad((table: tf.Tensor) => tf.sum(tf.square(tf.gather(table, tf.tensor1d([3, 1, 3, 0, 3], "int32")))))(randomTensor([5, 4], 5)));
    });
  });

  describe("AvgPoolGrad", () => {
    it.each([
      ["2×2 windows (RoIAlign's bins), remainder rows dropped", [3, 9, 8, 5], 2, "valid"],
      ["3×2 windows", [2, 6, 6, 4], [3, 2], "valid"],
      ["overlapping windows (the backend's own kernel)", [2, 7, 7, 3], 3, "same"],
    ] as const)("%s", async (_, shape, window, pad) => {
      const strides = pad === "same" ? 2 : window;
      await expectSameAsCpu(() =>
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(x as tf.Tensor4D, window as [number, number], strides as [number, number], pad), 3)))(randomTensor([...shape], 6)),
      );
    });
  });

  it("NonMaxSuppressionV3 keeps what the cpu backend keeps, in its order", async () => {
    await expectSameAsCpu(() => {
      const corners = randomTensor([300, 2], 7).mul(100);
      const sizes = randomTensor([300, 2], 8).abs().mul(30).add(1);
      const boxes = tf.concat([corners, corners.add(sizes)], 1) as tf.Tensor2D;
      return tf.image.nonMaxSuppression(boxes, randomTensor([300], 9).reshape([300]) as tf.Tensor1D, 120, 0.5, -0.5).cast("float32");
    }, 0);
  });

  describe("BatchMatMul", () => {
    const product = (aShape: number[], bShape: number[], transposeA: boolean, transposeB: boolean) => () =>
      tf.matMul(randomTensor(aShape, 6), randomTensor(bShape, 7), transposeA, transposeB);
    it.each([
      ["plain", [13, 17], [17, 11], false, false],
      ["a transposed", [17, 13], [17, 11], true, false],
      ["b transposed", [13, 17], [11, 17], false, true],
      ["both transposed", [17, 13], [11, 17], true, true],
      ["b transposed, wide: computed as (b·aᵀ)ᵀ", [4, 16], [64, 16], false, true],
      ["a transposed, tall: computed as (bᵀ·a)ᵀ", [16, 64], [16, 4], true, false],
      ["batch on a only (rows folded)", [3, 13, 17], [17, 11], false, false],
      ["batch on a only, both transposed", [2, 3, 17, 13], [11, 17], true, true],
      ["batch on b only", [13, 17], [4, 17, 11], false, false],
      ["batch on b only, transposed, a of batch 1", [1, 17, 13], [4, 11, 17], true, true],
      ["equal batches, large products", [3, 40, 50], [3, 50, 30], false, false],
      ["equal batches, large, transposed", [2, 2, 50, 40], [2, 2, 30, 50], true, true],
      ["equal batches, small products", [5, 4, 6], [5, 3, 6], false, true],
      ["empty inner dimension", [2, 3, 0], [0, 4], false, false],
    ] as const)("%s", async (_, aShape, bShape, transposeA, transposeB) => {
      await expectSameAsCpu(product([...aShape], [...bShape], transposeA, transposeB), 1e-6);
    });
    it("rejects batches that broadcast across several axes", async () => {
      await useBackend("wasm");
      const [a, b] = [tf.zeros([2, 1, 3, 3]), tf.zeros([1, 2, 3, 3])];
      expect(() => tf.matMul(a, b)).toThrow(/broadcast; supported are/);
      tf.dispose([a, b]);
    });
    it("gives matMul's gradients", async () => {
      const x = () => randomTensor([6, 20], 8);
      const w = () => randomTensor([20, 9], 9);
      await expectSameAsCpu(() => tf.grad((input: tf.Tensor) => tf.sum(tf.square(tf.matMul(input, w()))))(x()), 1e-6);
      await expectSameAsCpu(() => tf.grad((weight: tf.Tensor) => tf.sum(tf.square(tf.matMul(x(), weight))))(w()), 1e-6);
    });
  });
});

describe("data movement", () => {
  const counting = (shape: number[], dtype: "float32" | "int32" | "bool") =>
    tf.range(0, tf.util.sizeFromShape(shape)).reshape(shape).mod(dtype === "bool" ? 2 : 1000).cast(dtype);
  describe("Tile", () => {
    it.each([
      [[1], [7], "float32"],
      [[5, 1, 3], [1, 4, 1], "float32"],
      [[3, 1], [2, 5], "int32"],
      [[2, 3, 2, 4], [2, 1, 3, 2], "bool"],
      [[2, 3], [1, 0], "float32"],
      [[], [], "int32"],
    ] as const)("%j × %j (%s)", async (shape, reps, dtype) => {
      await expectSameAsCpu(() => tf.tile(counting([...shape], dtype), [...reps]).cast("float32"), 0);
    });
  });
  describe("Slice", () => {
    it.each([
      [[10], [3], [4]],
      [[6, 5], [2, 0], [3, 5]],
      [[6, 5], [1, 2], [4, 2]],
      [[3, 4, 5, 6], [1, 0, 2, 0], [2, 4, 3, 6]],
      [[2, 3, 4, 5, 6], [1, 1, 0, 2, 3], [1, 2, 4, 3, 2]],
      [[4, 3], [1, 0], [0, 3]],
    ] as const)("%j from %j size %j", async (shape, begin, size) => {
      for (const dtype of ["float32", "int32", "bool"] as const)
        await expectSameAsCpu(() => tf.slice(counting([...shape], dtype), [...begin], [...size]).cast("float32"), 0);
    });
  });
  it("SplitV into sizes, along an inner axis", async () => {
    await expectSameAsCpu(() => tf.concat(tf.split(counting([4, 9, 3], "float32"), [2, 4, 3], 1).map((p) => p.reshape([-1]))), 0);
    await expectSameAsCpu(() => tf.concat(tf.split(counting([4, 6], "int32"), 3, 1).map((p) => p.reshape([-1]))).cast("float32"), 0);
  });
  it("Identity shares the data and frees it with the last holder", async () => {
    await useBackend("wasm");
    const backend = tf.backend() as BackendWasm;
    const before = backend.numDataIds();
    const x = tf.tensor1d([1, 2, 3]);
    const copy = tf.clone(x);
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1, 2, 3]);
    copy.dispose();
    expect(backend.numDataIds()).toBe(before);
  });
});

const TINY = tinyDetectorSource({ backbone: "trainable 2", train: "batch_size 2 lr 0.01 frozen_batch_norm false" });

describe("training on wasm", () => {
  afterAll(() => useBackend("wasm"));

  it("runs SGD steps on a tiny detector, the loss falls, and nothing leaks", async () => {
    await useBackend("wasm");
    const spec = checkSource(TINY).detectors[0]!.spec;
    const samples = syntheticDataset("train", { imageSize: 64, trainCount: 2 }).samples;
    const options = { minSize: 64, maxSize: 64, flipProbability: 0, training: true };
    const examples = await Promise.all(samples.map(async (s, i) => prepareExample(s, await s.loadImage(), options, randomFromState(i))));
    const model = buildFasterRCNN(spec, { seed: 1 });
    const trainable = new Map(model.trainableVariables().map((v) => [v.name, v]));
    const sgd = new SGD(0.9, 0);
    const losses: number[] = [];
    const tensorsAfterStep: number[] = [];
    for (let step = 0; step < 4; step++) {
      const { value, grads } = tf.variableGrads(() => {
        const parts = model.computeLosses(examples.map((e) => e.image), examples.map((e) => ({ boxes: e.boxes, labels: e.labels })));
        return tf.addN(Object.values(parts)) as tf.Scalar;
      }, [...trainable.values()]);
      losses.push(value.dataSync()[0]!);
      value.dispose();
      sgd.step(trainable, grads, 0.01);
      tensorsAfterStep.push(tf.memory().numTensors);
    }
    sgd.dispose();
    model.dispose();
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(tensorsAfterStep.at(-1)).toBe(tensorsAfterStep[1]); // momentum buffers appear at step 1, then nothing grows
  });
});
