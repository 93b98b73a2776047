/** The lowered backbone's contract: its variables, their layouts and freezing, outputs, memory. */
import * as tf from "@tensorflow/tfjs";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { lowerBackbone, type LoweredBackbone, type LoweringOptions } from "../../src/lowering/backbone.js";
import { weightConverter } from "../../src/lowering/layouts.js";
import { ancestors, countParameters, resolveTap, stateEntries } from "../../src/zoo/graph.js";
import { findBackbone } from "../../src/zoo/index.js";
import { inferTypes } from "../../src/zoo/infer.js";
import { useBackend } from "./support.js";

const graphOf = (name: string) => findBackbone(name)!.graph();
const resolve = (network: string, taps: readonly string[]) => taps.map((t) => resolveTap(graphOf(network), t)!.name);

let live: LoweredBackbone[] = [];
function lower(network: string, taps: readonly string[], options: Partial<LoweringOptions> = {}): LoweredBackbone {
  const backbone = lowerBackbone(graphOf(network), {
    taps: resolve(network, taps),
    trainableStages: 3,
    frozenBatchNorm: true,
    seed: 1,
    ...options,
  });
  live.push(backbone);
  return backbone;
}
afterEach(() => {
  live.forEach((b) => b.dispose());
  live = [];
});

const trainableKeys = (b: LoweredBackbone) => [...b.variables].filter(([, v]) => v.trainable).map(([key]) => key);

describe("on wasm", () => {
  beforeAll(() => useBackend("wasm"));

  it.each([
    ["vgg16_bn", ["features.42"]],
    ["resnet50", ["layer3"]],
    ["efficientnet_b0", ["features.5"]],
    ["mobilenet_v3_large", ["features.6", "features.12", "features.16"]],
    ["efficientnet_b0", ["features.3", "features.4", "features.8"]],
  ])("%s at %s has torchvision's parameters, one variable per state-dict entry", (network, taps) => {
    const backbone = lower(network, taps);
    const needed = ancestors(graphOf(network), resolve(network, taps));
    expect([...backbone.variables.keys()]).toEqual(stateEntries(needed).map((e) => e.key));
    const parameters = backbone.entries.filter((e) => e.trainable);
    expect(parameters.reduce((sum, e) => sum + backbone.variables.get(e.key)!.size, 0)).toBe(countParameters(needed));
  });

  it("holds weights in tfjs layouts and converts them back to torchvision's", () => {
    const checks: [string, string, string, number[]][] = [
      ["resnet50", "layer3", "conv1.weight", [7, 7, 3, 64]],
      ["resnext50_32x4d", "layer1", "layer1.0.conv2.weight", [3, 3, 4, 128]],
      ["mobilenet_v3_large", "features.3", "features.2.block.1.0.weight", [3, 3, 64, 1]],
      ["convnext_tiny", "features.1", "features.1.0.block.3.weight", [96, 384]],
      ["convnext_tiny", "features.1", "features.1.0.layer_scale", [96, 1, 1]],
    ];
    for (const [network, tap, key, shape] of checks) {
      const backbone = lower(network, [tap]);
      const variable = backbone.variables.get(key)!;
      expect(variable.shape, key).toEqual(shape);
      tf.tidy(() => {
        const torch = backbone.toTorchLayout(key, variable);
        const entry = backbone.entries.find((e) => e.key === key)!;
        expect(torch.shape).toEqual(entry.shape);
        expect([...backbone.fromTorchLayout(key, torch.dataSync() as Float32Array, torch.shape)]).toEqual([...variable.dataSync()]);
      });
      backbone.dispose();
      live = [];
    }
  });

  it("converts a depthwise weight with channel multiplier output-channel by output-channel", () => {
    // torch's [C·m, 1, kh, kw]: output channel c·m + j is input channel c's filter j.
    const graph = { name: "toy", output: "c", nodes: [
      { name: "x", visible: true, op: { kind: "input" as const }, inputs: [], state: [] },
      { name: "c", visible: true, inputs: ["x"], state: [{ key: "c.weight", shape: [4, 1, 1, 1], role: "weight" as const, trainable: true }],
        op: { kind: "conv2d" as const, inChannels: 2, outChannels: 4, kernel: [1, 1] as const, stride: [1, 1] as const,
              padding: [0, 0] as const, dilation: [1, 1] as const, groups: 2, bias: false } },
    ] };
    const converter = weightConverter(graph);
    const ours = converter.fromTorchLayout("c.weight", Float32Array.of(10, 11, 20, 21), [4, 1, 1, 1]);
    // [kh, kw, in, m] = [1, 1, 2, 2]
    expect(tf.tensor4d(ours, [1, 1, 2, 2]).arraySync()).toEqual([[[[10, 11], [20, 21]]]]);
  });

  it("returns NHWC feature maps of the inferred shapes", () => {
    const taps = ["features.3", "features.4", "features.8"];
    const backbone = lower("efficientnet_b0", taps);
    const types = inferTypes(backbone.graph, [97, 129]);
    const images = tf.zeros([2, 97, 129, 3]) as tf.Tensor4D;
    const outputs = backbone.apply(images, { training: false });
    expect(outputs.map((o) => o.shape)).toEqual(
      backbone.taps.map((t) => {
        const [, c, h, w] = types.get(t)!.shape;
        return [2, h, w, c];
      }),
    );
    tf.dispose([images, ...outputs]);
  });

  it("freezes the stages before the last N, and batch norms when asked", () => {
    const frozenNorms = lower("resnet50", ["layer3"], { trainableStages: 2, frozenBatchNorm: true });
    expect(frozenNorms.stages.map((s) => s.name)).toEqual(["conv1…relu", "maxpool…layer1", "layer2", "layer3"]);
    const convs = (k: string) => /^layer[23]\..*(conv\d|downsample\.0)\.weight$/.test(k);
    expect(trainableKeys(frozenNorms)).toEqual([...frozenNorms.variables.keys()].filter(convs));

    const trainableNorms = lower("resnet50", ["layer3"], { trainableStages: 2, frozenBatchNorm: false, namePrefix: "b." });
    const parameters = (k: string) => /^layer[23]\..*(weight|bias)$/.test(k);
    expect(trainableKeys(trainableNorms)).toEqual([...trainableNorms.variables.keys()].filter(parameters));
  });

  it("initialises as torchvision does", () => {
    const resnet = lower("resnet50", ["layer3"]);
    const conv = resnet.variables.get("layer3.0.conv2.weight")!; // [3, 3, 256, 256]: std √(2 / fan_out)
    const std = tf.tidy(() => tf.moments(conv).variance.sqrt().dataSync()[0]!);
    expect(std).toBeCloseTo(Math.sqrt(2 / (256 * 9)), 3);
    expect(resnet.variables.get("layer3.0.bn2.weight")!.dataSync().every((v) => v === 1)).toBe(true);
    expect(resnet.variables.get("layer3.0.bn2.running_var")!.dataSync().every((v) => v === 1)).toBe(true);

    const convnext = lower("convnext_tiny", ["features.1"], { namePrefix: "c." });
    expect(convnext.variables.get("features.1.0.layer_scale")!.dataSync().every((v) => Math.fround(1e-6) === v)).toBe(true);
    expect(convnext.variables.get("features.0.1.weight")!.dataSync().every((v) => v === 1)).toBe(true);

    const again = lower("resnet50", ["layer1"], { namePrefix: "again." });
    expect(again.variables.get("conv1.weight")!.dataSync()).toEqual(resnet.variables.get("conv1.weight")!.dataSync());
  });

  it("folds frozen batch norms into their convs: no multiply over activations in eval mode", async () => {
    const backbone = lower("resnet18", ["layer1"]);
    const images = tf.zeros([3, 64, 64, 3]) as tf.Tensor4D;
    const profile = await tf.profile(() => backbone.apply(images, { training: false }));
    // Activations are [3, 32 or 16, …, 64]; no weight has 16 or 32 as its second size.
    const overActivations = profile.kernels.filter((k) => ["Multiply", "Mul"].includes(k.name) && [16, 32].includes(k.outputShapes[0]?.[1] ?? 0));
    expect(overActivations).toEqual([]);
    expect(profile.kernelNames).toContain("FusedConv2D");
    tf.dispose(images);
  });

  it("keeps ConvNeXt's permutes as bookkeeping: no transposes run", async () => {
    const backbone = lower("convnext_tiny", ["features.3"]);
    const images = tf.zeros([1, 64, 64, 3]) as tf.Tensor4D;
    const profile = await tf.profile(() => backbone.apply(images, { training: false }));
    expect(profile.kernelNames).not.toContain("Transpose");
    expect(profile.kernelNames).toContain("FusedDepthwiseConv2D"); // with its bias: eval mode fuses it
    tf.dispose(images);
  });

  it("leaks no tensors, in eval or training mode, and frees its variables on dispose", () => {
    const baseline = tf.memory().numTensors;
    const backbone = lower("mobilenet_v3_large", ["features.6", "features.12", "features.16"], { frozenBatchNorm: false });
    const images = tf.randomNormal([1, 64, 96, 3]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    for (const training of [false, true]) {
      const outputs = backbone.apply(images, { training });
      expect(outputs).toHaveLength(3);
      tf.dispose(outputs);
      expect(tf.memory().numTensors).toBe(before);
    }
    images.dispose();
    backbone.dispose();
    live = [];
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it("rejects a tap that is not a node", () => {
    expect(() => lowerBackbone(graphOf("resnet50"), { taps: ["layer3"], trainableStages: 1, frozenBatchNorm: true, seed: 0 })).toThrow(
      "resnet50 has no node `layer3`",
    );
  });
});

// wasm has no Conv2DBackpropFilter kernel: gradients run on cpu.
describe("on cpu", () => {
  beforeAll(() => useBackend("cpu"));

  it("runs frozen stages off the gradient tape: the same output, and none of their activations recorded for backward", () => {
    // At 32 px, resnet18's stem and layer1 (the two stages frozen below) work at 16×16 and 8×8, layer2 at 4×4.
    const images = tf.randomNormal([1, 32, 32, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    type Tape = { outputs: tf.Tensor[] }[];
    /** The output, and how many tape records hold a feature map of the stem's 16×16. */
    const forward = (backbone: LoweredBackbone) => {
      let recorded = 0;
      let output: number[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const [map] = backbone.apply(images, { training: true });
        const tape = (tf.engine() as unknown as { state: { activeTape: Tape } }).state.activeTape;
        recorded = tape.filter((node) => node.outputs.some((t) => t.rank === 4 && t.shape[1]! >= 16)).length;
        output = [...map!.dataSync()];
        return tf.mean(tf.square(map!)) as tf.Scalar;
      });
      tf.dispose([value, ...Object.values(grads)]);
      return { recorded, output };
    };
    const frozen = forward(lower("resnet18", ["layer2"], { trainableStages: 1 }));
    const trained = forward(lower("resnet18", ["layer2"], { trainableStages: 3, namePrefix: "t." }));
    expect(frozen.output).toEqual(trained.output);
    expect(trained.recorded).toBeGreaterThan(3);
    expect(frozen.recorded).toBe(0);
    images.dispose();
  });

  it("trains only the unfrozen stages, updates only their running statistics, and leaks nothing", () => {
    const backbone = lower("resnet18", ["layer2"], { trainableStages: 1, frozenBatchNorm: false });
    const images = tf.randomNormal([1, 16, 16, 3], 0, 1, "float32", 7) as tf.Tensor4D;
    const frozenStats = backbone.variables.get("layer1.0.bn1.running_mean")!.dataSync().slice();
    const trainedStats = backbone.variables.get("layer2.0.bn1.running_mean")!.dataSync().slice();
    const before = tf.memory().numTensors;

    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(backbone.apply(images, { training: true })[0]!)) as tf.Scalar);
    const names = new Map([...backbone.variables].map(([key, v]) => [v.name, key]));
    const gradientKeys = Object.keys(grads).map((name) => names.get(name));
    expect(gradientKeys).toEqual(trainableKeys(backbone));
    expect(gradientKeys.every((k) => k!.startsWith("layer2."))).toBe(true);
    expect(tf.tidy(() => Object.values(grads).every((g) => tf.any(tf.notEqual(g, 0)).dataSync()[0] === 1))).toBe(true);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);

    expect(backbone.variables.get("layer1.0.bn1.running_mean")!.dataSync()).toEqual(frozenStats);
    expect(backbone.variables.get("layer2.0.bn1.running_mean")!.dataSync()).not.toEqual(trainedStats);
    images.dispose();
  });
});
