/**
 * 1×1 convs on the channel pairs oneDNN's brgemm kernel divides by zero on (`denseConv2d`): they run
 * as matrix products that equal the conv on every backend, and on the native engine a ResNet-50
 * trains through them. Without the workaround the native cases end the process with SIGFPE (exit 136)
 * on this project's AVX-512 machine.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { denseConv2d, pointwiseConv2d } from "../../src/lowering/convolution.js";
import { lowerBackbone } from "../../src/lowering/backbone.js";
import { FeaturePyramidNetwork } from "../../src/detection/feature-pyramid.js";
import { resolveTap } from "../../src/zoo/graph.js";
import { findBackbone } from "../../src/zoo/index.js";
import { BACKENDS, useBackend } from "../detection/support.js";
import { relativeError } from "../weights/support.js";

type Conv = (x: tf.Tensor4D, filter: tf.Tensor4D) => tf.Tensor4D;

/** The conv's output and its gradients with respect to input and filter, under a fixed upstream. */
function withGradients(conv: Conv, x: tf.Tensor4D, filter: tf.Tensor4D) {
  const y = conv(x, filter);
  const upstream = tf.randomNormal(y.shape, 0, 1, "float32", 3);
  const [dx, dFilter] = tf.grads((a: tf.Tensor, f: tf.Tensor) => tf.sum(tf.mul(conv(a as tf.Tensor4D, f as tf.Tensor4D), upstream)))([x, filter]);
  return { y, dx: dx!, dFilter: dFilter! };
}

describe.each(BACKENDS)("a 1×1 conv as a matrix product on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([
    [1, 5, 7],
    [2, 5, 7],
    [2, 6, 6],
    [3, 7, 4],
  ])("stride %i on %i×%i pixels equals tf.conv2d, forward and gradients", (stride, height, width) => {
    const x = tf.randomNormal([2, height, width, 6], 0, 1, "float32", 1) as tf.Tensor4D;
    const filter = tf.randomNormal([1, 1, 6, 10], 0, 1, "float32", 2) as tf.Tensor4D;
    const bias = tf.linspace(-1, 1, 10);
    const actual = withGradients((a, f) => tf.add(pointwiseConv2d(a, f, [stride, stride]), bias), x, filter);
    const expected = withGradients((a, f) => tf.add(tf.conv2d(a, f, stride, "valid"), bias), x, filter);
    for (const key of ["y", "dx", "dFilter"] as const) {
      expect(actual[key].shape, key).toEqual(expected[key].shape);
      expect(relativeError(actual[key].dataSync(), expected[key].dataSync()), key).toBeLessThan(1e-5);
    }
    const fused = pointwiseConv2d(x, filter, [stride, stride], bias);
    expect(relativeError(fused.dataSync(), expected.y.dataSync())).toBeLessThan(1e-5);
  });
});

const nativeEngine = BACKENDS.includes("tensorflow");

describe.skipIf(!nativeEngine)("on the native engine (skipped: no native TensorFlow engine here)", () => {
  beforeAll(() => useBackend("tensorflow"));

  // oneDNN's five pairs and their reverses (the data gradient's direction), at strides 1 and 2.
  it.each([
    [1024, 2048],
    [1024, 512],
    [256, 1024],
    [512, 1024],
    [512, 2048],
  ])("%i→%i and back run forward and backward", (a, b) => {
    for (const [inChannels, outChannels] of [
      [a, b],
      [b, a],
    ] as const) {
      for (const stride of [1, 2]) {
        const x = tf.randomNormal([1, 3, 3, inChannels], 0, 1, "float32", 1) as tf.Tensor4D;
        const filter = tf.randomNormal([1, 1, inChannels, outChannels], 0, 0.05, "float32", 2) as tf.Tensor4D;
        const { y, dx, dFilter } = withGradients((i, f) => denseConv2d(i, f, [stride, stride], "valid", [1, 1]), x, filter);
        expect(y.shape).toEqual([1, stride === 1 ? 3 : 2, stride === 1 ? 3 : 2, outChannels]);
        for (const t of [y, dx, dFilter]) expect(Number.isFinite(tf.sum(t).dataSync()[0])).toBe(true);
        tf.dispose([x, filter, y, dx, dFilter]);
      }
    }
  });

  it("ResNet-50 trains through layer4 and an FPN over layer2–layer4 at 64×64", () => {
    const graph = findBackbone("resnet50")!.graph();
    const taps = ["layer2", "layer3", "layer4"].map((t) => resolveTap(graph, t)!.name);
    const backbone = lowerBackbone(graph, { taps, trainableStages: 3, frozenBatchNorm: true, seed: 0 });
    const fpn = new FeaturePyramidNetwork([512, 1024, 2048], 256, true, 0);
    const images = tf.randomUniform([1, 64, 64, 3], -1, 1, "float32", 7) as tf.Tensor4D;
    const loss = () => {
      const maps = backbone.apply(images, { training: true });
      const levels = fpn.apply(new Map(taps.map((name, i) => [name, maps[i] as tf.Tensor4D])));
      return tf.addN([...levels.values()].map((level) => tf.mean(tf.square(level)))) as tf.Scalar;
    };
    const { value, grads } = tf.variableGrads(loss);
    expect(Number.isFinite(value.dataSync()[0])).toBe(true);
    const trainable = [...backbone.variables.values(), ...fpn.variables.values()].filter((v) => v.trainable);
    for (const variable of trainable) {
      const norm = tf.norm(grads[variable.name]!).dataSync()[0]!;
      expect(Number.isFinite(norm) && norm > 0, `gradient of ${variable.name}: ${norm}`).toBe(true);
    }
    tf.dispose([value, images, ...Object.values(grads)]);
    backbone.dispose();
  });
});
