/** torchvision `models/vgg.py`: VGG with and without batch normalisation. */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { activation, adaptiveAvgPool2d, batchNorm2d, conv2d, flatten, identity, linear, maxPool2d } from "../layers.js";

/** A 3×3 conv's output channels, or "M" for a 2×2 max pool (torchvision's `cfgs`). */
type VggConfig = readonly (number | "M")[];

const cfgs = {
  A: [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  B: [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
  D: [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
  E: [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
} as const satisfies Record<string, VggConfig>;

/** `make_layers`: one flat `features` Sequential, so every conv, BN, ReLU and pool is `features.<i>`. */
function makeLayers(g: GraphBuilder, x: Value, cfg: VggConfig, batchNorm: boolean): Value {
  let index = 0;
  let inChannels = 3;
  for (const v of cfg) {
    if (v === "M") {
      x = maxPool2d(g, `features.${index++}`, x, { kernel: 2, stride: 2 });
      continue;
    }
    x = conv2d(g, `features.${index++}`, x, { in: inChannels, out: v, kernel: 3, padding: 1 });
    if (batchNorm) x = batchNorm2d(g, `features.${index++}`, x, v);
    x = activation(g, `features.${index++}`, x, "relu");
    inChannels = v;
  }
  return x;
}

function vgg(name: string, [cfg, batchNorm]: readonly [VggConfig, boolean]): BackboneGraph {
  const g = new GraphBuilder(name);
  let x = makeLayers(g, g.input(), cfg, batchNorm);
  x = adaptiveAvgPool2d(g, "avgpool", x, 7);
  x = flatten(g, "", x);
  x = linear(g, "classifier.0", x, 512 * 7 * 7, 4096);
  x = activation(g, "classifier.1", x, "relu");
  x = identity(g, "classifier.2", x);
  x = linear(g, "classifier.3", x, 4096, 4096);
  x = activation(g, "classifier.4", x, "relu");
  x = identity(g, "classifier.5", x);
  x = linear(g, "classifier.6", x, 4096, 1000);
  return g.finish(x);
}

export const vggNetworks = variants(vgg, {
  vgg11: [cfgs.A, false],
  vgg11_bn: [cfgs.A, true],
  vgg13: [cfgs.B, false],
  vgg13_bn: [cfgs.B, true],
  vgg16: [cfgs.D, false],
  vgg16_bn: [cfgs.D, true],
  vgg19: [cfgs.E, false],
  vgg19_bn: [cfgs.E, true],
});
