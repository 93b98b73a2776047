/**
 * Every zoo network against torchvision's own numbers (goldens from test/fixtures/make_goldens.py).
 * The first networks have full goldens; the rest keep small ones (digests of node names and
 * state-dict entries, a sample of shapes at one odd size); `npx tsx bench/zoo-sweep.ts` compares
 * every network in full.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { backbones } from "../src/zoo/index.js";
import { DEFAULT_WEIGHTS } from "../src/zoo/pretrained.js";
import { unsupportedBackbones } from "../src/zoo/unsupported.js";
import { countParameters, nodeNames, resolveTap, stateEntries, type BackboneGraph } from "../src/zoo/graph.js";
import { inferTypes } from "../src/zoo/infer.js";

interface FullGolden {
  network: string;
  parameters: number;
  nodes: string[];
  shapes: Record<string, (number[] | null)[]>;
  stateDict: Record<string, number[]>;
  resolve: Record<string, string>;
}

interface SampledGolden {
  network: string;
  parameters: number;
  nodeCount: number;
  nodesSha256: string;
  stateDictCount: number;
  stateDictSha256: string;
  input: string;
  shapes: Record<string, number[] | null>;
  resolve: Record<string, string>;
}

const golden = (name: string): FullGolden | SampledGolden =>
  JSON.parse(readFileSync(new URL(`./fixtures/zoo/${name}.json`, import.meta.url), "utf8"));

const sha256 = (lines: readonly string[]) => createHash("sha256").update(lines.join("\n")).digest("hex");

const REQUIRED = [
  "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
  "resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
  "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2",
  "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small",
  "efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "efficientnet_b4", "efficientnet_b5",
  "efficientnet_b6", "efficientnet_b7", "efficientnet_v2_s", "efficientnet_v2_m", "efficientnet_v2_l",
  "regnet_y_400mf", "regnet_y_800mf", "regnet_y_1_6gf", "regnet_y_3_2gf", "regnet_y_8gf", "regnet_y_16gf",
  "regnet_y_32gf", "regnet_y_128gf", "regnet_x_400mf", "regnet_x_800mf", "regnet_x_1_6gf", "regnet_x_3_2gf",
  "regnet_x_8gf", "regnet_x_16gf", "regnet_x_32gf",
  "convnext_tiny", "convnext_small", "convnext_base", "convnext_large",
  "squeezenet1_0", "squeezenet1_1", "alexnet", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
  "densenet121", "densenet161", "densenet169", "densenet201", "googlenet", "inception_v3",
  "swin_t", "swin_s", "swin_b", "swin_v2_t", "swin_v2_s", "swin_v2_b",
];

it("the zoo has every required network", () => {
  expect(backbones.map((b) => b.name)).toEqual(expect.arrayContaining(REQUIRED));
});

/** torchvision 0.14's `list_models(module=torchvision.models)` with each builder's default weights. */
const TORCHVISION_WEIGHTS: Record<string, string> = JSON.parse(
  readFileSync(new URL("./fixtures/zoo/pretrained.json", import.meta.url), "utf8"),
);

describe("every torchvision classification network", () => {
  const supported = backbones.map((b) => b.name);
  const unsupported = unsupportedBackbones.map((b) => b.name);

  it("is in the zoo or listed as unsupported, never both", () => {
    expect([...supported, ...unsupported].sort()).toEqual(Object.keys(TORCHVISION_WEIGHTS).sort());
  });

  it("has torchvision's default pretrained weights recorded", () => {
    expect(DEFAULT_WEIGHTS).toEqual(TORCHVISION_WEIGHTS);
  });

  it.each(unsupported)("%s is answered with the reason and what to use instead, not 'unknown backbone'", (name) => {
    const { diagnostics } = checkSource(`detector d\nbackbone ${name}\ntap features.3\nclasses 21\n`);
    const entry = unsupportedBackbones.find((b) => b.name === name)!;
    expect(diagnostics.map((d) => [d.code, d.message, d.hint])).toEqual([
      ["E010", `\`${name}\` cannot be a backbone: ${entry.reason}`, expect.stringMatching(/^use `\w+`.* instead$/)],
    ]);
    for (const alternative of entry.instead) expect(supported).toContain(alternative);
  });
});

/** Every BatchNorm2d's distinct (eps, momentum) per network, from torchvision (`make_goldens.py batch-norms`). */
const BATCH_NORMS: Record<string, [number, number][]> = JSON.parse(
  readFileSync(new URL("./fixtures/zoo/batch-norms.json", import.meta.url), "utf8"),
);

const stateDict = (graph: BackboneGraph) => stateEntries(graph.nodes).map((e) => [e.key, [...e.shape]] as const);

describe.each(backbones.map((b) => [b.name, b] as const))("%s matches torchvision", (name, backbone) => {
  const expected = golden(name);
  const graph = backbone.graph();

  it("has torchvision's parameter count", () => {
    expect(countParameters(graph.nodes)).toBe(expected.parameters);
  });

  it("has torchvision's batch-norm eps and momentum", () => {
    const ours = new Set(graph.nodes.flatMap((n) => (n.op.kind === "batch_norm" ? [`${n.op.eps},${n.op.momentum}`] : [])));
    expect([...ours].sort()).toEqual(BATCH_NORMS[name]!.map(([eps, momentum]) => `${eps},${momentum}`).sort());
  });

  it("resolves module paths as create_feature_extractor does", () => {
    const ours = Object.fromEntries(Object.keys(expected.resolve).map((p) => [p, resolveTap(graph, p)?.name]));
    expect(ours).toEqual(expected.resolve);
  });

  if ("nodes" in expected) {
    it("has torchvision's graph node names, in order", () => {
      expect(nodeNames(graph)).toEqual(expected.nodes);
    });

    it("has torchvision's state-dict keys and shapes", () => {
      expect(Object.fromEntries(stateDict(graph))).toEqual(expected.stateDict);
    });

    it.each(Object.keys(expected.shapes))("infers every node's shape at %s", (size) => {
      const [h, w] = size.split("x").map(Number) as [number, number];
      const types = inferTypes(graph, [h, w]);
      const ours = expected.nodes.map((n, i) => (expected.shapes[size]![i] === null ? null : [...types.get(n)!.shape]));
      expect(ours).toEqual(expected.shapes[size]);
    });
  } else {
    const fullDiff = "digests differ: `npx tsx bench/zoo-sweep.ts " + name + "` shows the full difference";

    it("has torchvision's graph node names, in order", () => {
      const names = nodeNames(graph);
      expect({ count: names.length, sha256: sha256(names) }, fullDiff).toEqual({
        count: expected.nodeCount,
        sha256: expected.nodesSha256,
      });
    });

    it("has torchvision's state-dict keys and shapes", () => {
      const lines = stateDict(graph).map(([key, shape]) => `${key}:${shape.join(",")}`);
      expect({ count: lines.length, sha256: sha256(lines) }, fullDiff).toEqual({
        count: expected.stateDictCount,
        sha256: expected.stateDictSha256,
      });
    });

    it(`infers sampled nodes' shapes at ${expected.input}`, () => {
      const [h, w] = expected.input.split("x").map(Number) as [number, number];
      const types = inferTypes(graph, [h, w]);
      const ours = Object.fromEntries(
        Object.entries(expected.shapes).map(([n, shape]) => [n, shape === null ? null : types.get(n) && [...types.get(n)!.shape]]),
      );
      expect(ours).toEqual(expected.shapes);
    });
  }
});
