/** Every zoo network against torchvision's own numbers (goldens from test/fixtures/make_goldens.py). */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { backbones } from "../src/zoo/index.js";
import { countParameters, nodeNames, resolveTap, stateEntries } from "../src/zoo/graph.js";
import { inferTypes } from "../src/zoo/infer.js";

interface NetworkGolden {
  network: string;
  parameters: number;
  nodes: string[];
  shapes: Record<string, (number[] | null)[]>;
  stateDict: Record<string, number[]>;
  resolve: Record<string, string>;
}

const golden = (name: string): NetworkGolden =>
  JSON.parse(readFileSync(new URL(`./fixtures/zoo/${name}.json`, import.meta.url), "utf8"));

const REQUIRED = [
  "vgg11", "vgg16", "vgg16_bn", "resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d",
  "wide_resnet50_2", "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0",
  "efficientnet_b3", "efficientnet_v2_s", "regnet_x_400mf", "regnet_y_400mf", "convnext_tiny",
];

it("the zoo has every required network", () => {
  expect(backbones.map((b) => b.name)).toEqual(expect.arrayContaining(REQUIRED));
});

describe.each(backbones.map((b) => [b.name, b] as const))("%s matches torchvision", (name, backbone) => {
  const expected = golden(name);
  const graph = backbone.graph();

  it("has torchvision's graph node names, in order", () => {
    expect(nodeNames(graph)).toEqual(expected.nodes);
  });

  it("has torchvision's parameter count", () => {
    expect(countParameters(graph.nodes)).toBe(expected.parameters);
  });

  it("has torchvision's state-dict keys and shapes", () => {
    const ours = Object.fromEntries(stateEntries(graph.nodes).map((e) => [e.key, [...e.shape]]));
    expect(ours).toEqual(expected.stateDict);
  });

  it.each(Object.keys(expected.shapes))("infers every node's shape at %s", (size) => {
    const [h, w] = size.split("x").map(Number) as [number, number];
    const types = inferTypes(graph, [h, w]);
    const ours = expected.nodes.map((n, i) => (expected.shapes[size]![i] === null ? null : [...types.get(n)!.shape]));
    expect(ours).toEqual(expected.shapes[size]);
  });

  it("resolves module paths as create_feature_extractor does", () => {
    const ours = Object.fromEntries(Object.keys(expected.resolve).map((p) => [p, resolveTap(graph, p)?.name]));
    expect(ours).toEqual(expected.resolve);
  });
});
