/**
 * The backbone zoo: every supported classification network, described once.
 * A size variant is a row of its family's table; a family is a file and a line here.
 */
import type { NetworkTable } from "./builder.js";
import type { BackboneGraph } from "./graph.js";
import { vggNetworks } from "./networks/vgg.js";
import { resnetNetworks } from "./networks/resnet.js";
import { mobilenetV2Networks, mobilenetV3Networks } from "./networks/mobilenet.js";
import { efficientnetNetworks } from "./networks/efficientnet.js";
import { regnetNetworks } from "./networks/regnet.js";
import { convnextNetworks } from "./networks/convnext.js";
import { squeezenetNetworks } from "./networks/squeezenet.js";
import { alexnetNetworks } from "./networks/alexnet.js";
import { mnasnetNetworks } from "./networks/mnasnet.js";
import { densenetNetworks } from "./networks/densenet.js";
import { googlenetNetworks } from "./networks/googlenet.js";
import { inceptionNetworks } from "./networks/inception.js";
import { swinNetworks } from "./networks/swin.js";

export interface Backbone {
  readonly name: string;
  /** torchvision family (the file in `torchvision/models/` it comes from). */
  readonly family: string;
  readonly graph: () => BackboneGraph;
}

/** torchvision family (its model file's name) → its networks. */
const FAMILIES: readonly (readonly [string, NetworkTable])[] = [
  ["vgg", vggNetworks],
  ["resnet", resnetNetworks],
  ["mobilenetv2", mobilenetV2Networks],
  ["mobilenetv3", mobilenetV3Networks],
  ["efficientnet", efficientnetNetworks],
  ["regnet", regnetNetworks],
  ["convnext", convnextNetworks],
  ["squeezenet", squeezenetNetworks],
  ["alexnet", alexnetNetworks],
  ["mnasnet", mnasnetNetworks],
  ["densenet", densenetNetworks],
  ["googlenet", googlenetNetworks],
  ["inception", inceptionNetworks],
  ["swin_transformer", swinNetworks],
];

export const backbones: readonly Backbone[] = FAMILIES.flatMap(([family, networks]) =>
  Object.entries(networks).map(([name, build]): Backbone => {
    let cached: BackboneGraph | undefined;
    return { name, family, graph: () => (cached ??= build()) };
  }),
);

export function findBackbone(name: string): Backbone | undefined {
  return backbones.find((b) => b.name === name);
}
