/**
 * The backbone zoo: every supported classification network, described once.
 * Adding a network is adding a description file and a line here.
 */
import type { BackboneGraph } from "./graph.js";
import { resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, wide_resnet50_2 } from "./networks/resnet.js";

export interface Backbone {
  readonly name: string;
  /** torchvision family (the file in `torchvision/models/` it comes from). */
  readonly family: string;
  readonly graph: () => BackboneGraph;
}

const entry = (family: string, build: () => BackboneGraph, name: string): Backbone => {
  let cached: BackboneGraph | undefined;
  return { name, family, graph: () => (cached ??= build()) };
};

export const backbones: readonly Backbone[] = [
  entry("resnet", resnet18, "resnet18"),
  entry("resnet", resnet34, "resnet34"),
  entry("resnet", resnet50, "resnet50"),
  entry("resnet", resnet101, "resnet101"),
  entry("resnet", resnext50_32x4d, "resnext50_32x4d"),
  entry("resnet", wide_resnet50_2, "wide_resnet50_2"),
];

export function findBackbone(name: string): Backbone | undefined {
  return backbones.find((b) => b.name === name);
}
