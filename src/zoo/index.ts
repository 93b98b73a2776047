/**
 * The backbone zoo: every supported classification network, described once.
 * Adding a network is adding a description file and a line here.
 */
import type { BackboneGraph } from "./graph.js";
import { vgg11, vgg16, vgg16_bn } from "./networks/vgg.js";
import { resnet18, resnet34, resnet50, resnet101, resnext50_32x4d, wide_resnet50_2 } from "./networks/resnet.js";
import { mobilenet_v2, mobilenet_v3_large, mobilenet_v3_small } from "./networks/mobilenet.js";
import { efficientnet_b0, efficientnet_b3, efficientnet_v2_s } from "./networks/efficientnet.js";
import { regnet_x_400mf, regnet_y_400mf } from "./networks/regnet.js";
import { convnext_tiny } from "./networks/convnext.js";

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
  entry("vgg", vgg11, "vgg11"),
  entry("vgg", vgg16, "vgg16"),
  entry("vgg", vgg16_bn, "vgg16_bn"),
  entry("resnet", resnet18, "resnet18"),
  entry("resnet", resnet34, "resnet34"),
  entry("resnet", resnet50, "resnet50"),
  entry("resnet", resnet101, "resnet101"),
  entry("resnet", resnext50_32x4d, "resnext50_32x4d"),
  entry("resnet", wide_resnet50_2, "wide_resnet50_2"),
  entry("mobilenetv2", mobilenet_v2, "mobilenet_v2"),
  entry("mobilenetv3", mobilenet_v3_large, "mobilenet_v3_large"),
  entry("mobilenetv3", mobilenet_v3_small, "mobilenet_v3_small"),
  entry("efficientnet", efficientnet_b0, "efficientnet_b0"),
  entry("efficientnet", efficientnet_b3, "efficientnet_b3"),
  entry("efficientnet", efficientnet_v2_s, "efficientnet_v2_s"),
  entry("regnet", regnet_x_400mf, "regnet_x_400mf"),
  entry("regnet", regnet_y_400mf, "regnet_y_400mf"),
  entry("convnext", convnext_tiny, "convnext_tiny"),
];

export function findBackbone(name: string): Backbone | undefined {
  return backbones.find((b) => b.name === name);
}
