/** torchvision `models/squeezenet.py`: SqueezeNet 1.0 and 1.1. */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { activation, adaptiveAvgPool2d, cat, conv2d, flatten, identity, maxPool2d } from "../layers.js";

/** A `features` entry: a Fire module's (squeeze, expand 1×1, expand 3×3) widths, or "M" for a 3×3/2 ceil-mode max pool. */
type Layer = readonly [squeeze: number, expand1x1: number, expand3x3: number] | "M";

interface SqueezeNetConfig {
  /** The stem conv: `nn.Conv2d(3, channels, kernel, stride=2)`. */
  stem: { channels: number; kernel: number };
  layers: readonly Layer[];
}

/** `Fire`: a 1×1 squeeze, then 1×1 and 3×3 expands side by side, concatenated. */
function fire(g: GraphBuilder, path: string, x: Value, inplanes: number, [squeeze, e1, e3]: readonly [number, number, number]): Value {
  let s = conv2d(g, `${path}.squeeze`, x, { in: inplanes, out: squeeze, kernel: 1 });
  s = activation(g, `${path}.squeeze_activation`, s, "relu");
  let a = conv2d(g, `${path}.expand1x1`, s, { in: squeeze, out: e1, kernel: 1 });
  a = activation(g, `${path}.expand1x1_activation`, a, "relu");
  let b = conv2d(g, `${path}.expand3x3`, s, { in: squeeze, out: e3, kernel: 3, padding: 1 });
  b = activation(g, `${path}.expand3x3_activation`, b, "relu");
  return cat(g, path, [a, b]);
}

function squeezenet(name: string, config: SqueezeNetConfig): BackboneGraph {
  const g = new GraphBuilder(name);
  let x = conv2d(g, "features.0", g.input(), { in: 3, out: config.stem.channels, kernel: config.stem.kernel, stride: 2 });
  x = activation(g, "features.1", x, "relu");
  let channels = config.stem.channels;
  let index = 2;
  for (const layer of ["M", ...config.layers] as const) {
    const path = `features.${index++}`;
    if (layer === "M") {
      x = maxPool2d(g, path, x, { kernel: 3, stride: 2, ceilMode: true });
      continue;
    }
    x = fire(g, path, x, channels, layer);
    channels = layer[1] + layer[2];
  }
  x = identity(g, "classifier.0", x);
  x = conv2d(g, "classifier.1", x, { in: channels, out: 1000, kernel: 1 });
  x = activation(g, "classifier.2", x, "relu");
  x = adaptiveAvgPool2d(g, "classifier.3", x, 1);
  return g.finish(flatten(g, "", x));
}

export const squeezenetNetworks = variants(squeezenet, {
  squeezenet1_0: {
    stem: { channels: 96, kernel: 7 },
    layers: [
      [16, 64, 64], [16, 64, 64], [32, 128, 128], "M",
      [32, 128, 128], [48, 192, 192], [48, 192, 192], [64, 256, 256], "M",
      [64, 256, 256],
    ],
  },
  squeezenet1_1: {
    stem: { channels: 64, kernel: 3 },
    layers: [
      [16, 64, 64], [16, 64, 64], "M",
      [32, 128, 128], [32, 128, 128], "M",
      [48, 192, 192], [48, 192, 192], [64, 256, 256], [64, 256, 256],
    ],
  },
});
