/** RoIAlign forward and gradient against torchvision.ops.roi_align, plus the gradient's own consistency. */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { roiAlign, type RoIAlignOptions } from "../../src/detection/roi-align.js";
import { BACKENDS, expectClose, FASTEST_BACKEND, golden, nchwToNhwc, useBackend } from "./support.js";

interface RoIAlignCase {
  outputSize: [number, number];
  spatialScale: number;
  samplingRatio: number;
  output: number[];
  upstream: number[];
  inputGradient: number[];
}

interface RoIAlignGolden {
  featuresShape: [number, number, number, number];
  features: number[];
  rois: number[][];
  cases: RoIAlignCase[];
}

const expected = golden<RoIAlignGolden>("roi_align");
const [batch, channels, height, width] = expected.featuresShape;
const boxCount = expected.rois.length;
const label = (c: RoIAlignCase) => `output ${c.outputSize.join("x")}, sampling_ratio ${c.samplingRatio}`;

const features = () =>
  tf.tensor4d(nchwToNhwc(expected.features, expected.featuresShape), [batch, height, width, channels]);
const rois = () => tf.tensor2d(expected.rois);
const optionsOf = ({ outputSize, spatialScale, samplingRatio }: RoIAlignCase): RoIAlignOptions => ({
  outputSize,
  spatialScale,
  samplingRatio,
});
/** `tf.grad` of `sum(roiAlign(input) * upstream)` with respect to the input. */
const inputGradient = (boxes: tf.Tensor2D, options: RoIAlignOptions, upstream: tf.Tensor | number = 1) =>
  tf.grad((input: tf.Tensor) => tf.sum(tf.mul(roiAlign(input as tf.Tensor4D, boxes, options), upstream)));
const outputShape = (c: RoIAlignCase) => [boxCount, channels, ...c.outputSize];
const nhwc = (c: RoIAlignCase, values: number[]) => nchwToNhwc(values, outputShape(c));

describe.each(BACKENDS)("roiAlign on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it.each(expected.cases.map((c) => [label(c), c] as const))("forward matches torchvision: %s", (_, c) => {
    const pooled = roiAlign(features(), rois(), optionsOf(c));
    expect(pooled.shape).toEqual([boxCount, c.outputSize[0], c.outputSize[1], channels]);
    expectClose(pooled.dataSync(), nhwc(c, c.output), 2e-5);
  });

  it.each(expected.cases.map((c) => [label(c), c] as const))("input gradient matches torchvision: %s", (_, c) => {
    const upstream = tf.tensor(nhwc(c, c.upstream), [boxCount, c.outputSize[0], c.outputSize[1], channels]);
    const gradient = inputGradient(rois(), optionsOf(c), upstream)(features());
    expectClose(gradient.dataSync(), nchwToNhwc(c.inputGradient, expected.featuresShape), 2e-5);
  });

  it.runIf(backend === FASTEST_BACKEND)("pools many boxes a chunk at a time: the same values and gradient as in halves too small to be chunked", () => {
    // 256 channels at 14×14 samples: 200 KB a box, so 160 boxes pass the 16 MiB chunk (83 boxes) and 80 do not.
    const input = tf.randomUniform([1, 24, 24, 256], -1, 1, "float32", 11) as tf.Tensor4D;
    const corners = tf.tidy(() => {
      const start = tf.randomUniform([160, 2], 0, 16, "float32", 12);
      return tf.concat([start, tf.add(start, tf.randomUniform([160, 2], 1, 8, "float32", 13))], 1) as tf.Tensor2D;
    });
    const options: RoIAlignOptions = { outputSize: 7, samplingRatio: 2 };
    const halves = [corners.slice([0, 0], [80, 4]), corners.slice([80, 0], [80, 4])] as tf.Tensor2D[];
    const whole = roiAlign(input, [corners], options);
    expectClose(whole.dataSync(), tf.concat(halves.map((half) => roiAlign(input, [half], options))).dataSync(), 0);
    const upstream = tf.randomNormal(whole.shape, 0, 1, "float32", 14);
    const gradientOf = (boxes: tf.Tensor2D[], dy: tf.Tensor) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, boxes, options), dy)))(input);
    const summed = tf.add(gradientOf([halves[0]!], upstream.slice(0, 80)), gradientOf([halves[1]!], upstream.slice(80, 80)));
    const gradient = gradientOf([corners], upstream).dataSync();
    expectClose(gradient, summed.dataSync(), 1e-4);
    // The same on every run: TensorFlow's threaded CPU kernel used to lose an update now and then.
    for (let run = 0; run < 3; run++) expect(Buffer.from(gradientOf([corners], upstream).dataSync().buffer).equals(Buffer.from(gradient.buffer))).toBe(true);
  });

  it("takes boxes as one tensor per image too", () => {
    const c = expected.cases[0]!;
    const onImage = (image: number) => expected.rois.filter((roi) => roi[0] === image).map((roi) => roi.slice(1));
    const perImage = [0, 1].map((image) => tf.tensor2d(onImage(image)));
    const order = [0, 1].flatMap((image) => expected.rois.flatMap((roi, i) => (roi[0] === image ? [i] : [])));
    const pooled = roiAlign(features(), perImage, optionsOf(c)).reshape([boxCount, -1]).arraySync() as number[][];
    const reference = roiAlign(features(), rois(), optionsOf(c)).reshape([boxCount, -1]).arraySync() as number[][];
    expect(pooled).toEqual(order.map((i) => reference[i]));
  });

  it("gradient agrees with finite differences and is the exact adjoint of the forward", () => {
    const c = expected.cases[1]!; // adaptive sampling
    const input = features();
    const upstream = tf.randomNormal([boxCount, c.outputSize[0], c.outputSize[1], channels], 0, 1, "float32", 3);
    const loss = (x: tf.Tensor) => tf.sum(tf.mul(roiAlign(x as tf.Tensor4D, rois(), optionsOf(c)), upstream));
    const gradient = tf.grad(loss)(input);
    const analytic = gradient.dataSync();
    // The op is linear in the features, so a central difference is exact up to float32 rounding.
    const step = 0.5;
    for (const flatIndex of [0, 7, 100, 250, 333, 500, 719]) {
      const bump = tf.oneHot(tf.tensor1d([flatIndex], "int32"), input.size).reshape(input.shape).mul(step);
      const numeric = (loss(input.add(bump)).dataSync()[0]! - loss(input.sub(bump)).dataSync()[0]!) / (2 * step);
      expect(Math.abs(numeric - analytic[flatIndex]!)).toBeLessThan(1e-4);
    }
    expect(tf.sum(tf.mul(gradient, input)).dataSync()[0]).toBeCloseTo(loss(input).dataSync()[0]!, 4);
  });

  it("gives box coordinates no gradient and leaks no tensors", () => {
    const c = expected.cases[0]!;
    const input = features();
    const boxes = rois();
    const before = tf.memory().numTensors;
    const boxGradient = tf.grad((box: tf.Tensor) => tf.sum(roiAlign(input, box as tf.Tensor2D, optionsOf(c))))(boxes);
    expect(Array.from(boxGradient.dataSync()).every((v) => v === 0)).toBe(true);
    boxGradient.dispose();
    roiAlign(input, boxes, optionsOf(c)).dispose();
    inputGradient(boxes, { ...optionsOf(c), samplingRatio: 0 })(input).dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([2, 0])("pools no boxes to an empty result, sampling_ratio %i", (samplingRatio) => {
    const input = features();
    const noBoxes = tf.zeros([0, 5]) as tf.Tensor2D;
    expect(roiAlign(input, noBoxes, { outputSize: 3, samplingRatio }).shape).toEqual([0, 3, 3, channels]);
    const gradient = inputGradient(noBoxes, { outputSize: 3, samplingRatio })(input);
    expect(Array.from(gradient.dataSync()).every((v) => v === 0)).toBe(true);
    expect(() => roiAlign(input, tf.zeros([2, 4]) as tf.Tensor2D, { outputSize: 3 })).toThrow(/\[K, 5\]/);
  });

  it("pools a box entirely outside the map to zeros", () => {
    const farAway = tf.tensor2d([[0, 500, 500, 520, 530]]);
    const pooled = roiAlign(features(), farAway, { outputSize: 2, spatialScale: 0.5, samplingRatio: 2 });
    expect(Array.from(pooled.dataSync()).every((v) => v === 0)).toBe(true);
  });
});
