/** torchvision `models/inception.py`: Inception v3, as `inception_v3(weights=None)` builds it. */
import { GraphBuilder, type NetworkTable, type Value } from "../builder.js";
import type { BackboneGraph, Pair } from "../graph.js";
import { adaptiveAvgPool2d, adaptiveAvgPool2dCall, avgPool2d, basicConv2d, cat, flatten, identity, linear, maxPool2d } from "../layers.js";

/** A chain of `BasicConv2d`s inside a block: (module name, out channels, kernel, padding, stride). */
type ConvSpec = readonly [name: string, out: number, kernel: number | Pair, padding?: number | Pair, stride?: number];

/** Runs `convs` one after another from `x` (with `inChannels`), under the block at `path`. */
function chain(g: GraphBuilder, path: string, x: Value, inChannels: number, convs: readonly ConvSpec[]): Value {
  let channels = inChannels;
  for (const [name, out, kernel, padding, stride] of convs) {
    x = basicConv2d(g, path ? `${path}.${name}` : name, x, { in: channels, out, kernel, padding: padding ?? 0, stride: stride ?? 1 });
    channels = out;
  }
  return x;
}

/** `F.avg_pool2d(x, 3, stride=1, padding=1)` then the `branch_pool` conv. */
function poolBranch(g: GraphBuilder, path: string, x: Value, inChannels: number, out: number): Value {
  return chain(g, path, avgPool2d(g, path, x, { kernel: 3, stride: 1, padding: 1 }, true), inChannels, [["branch_pool", out, 1]]);
}

/** The branches of InceptionA–E, in the order their outputs are concatenated; widths add up to the block's. */
const blocks = {
  /** `InceptionA(in, pool_features)`: 35×35 grid. */
  a: (g: GraphBuilder, path: string, x: Value, c: number, poolFeatures: number) => [
    chain(g, path, x, c, [["branch1x1", 64, 1]]),
    chain(g, path, x, c, [["branch5x5_1", 48, 1], ["branch5x5_2", 64, 5, 2]]),
    chain(g, path, x, c, [["branch3x3dbl_1", 64, 1], ["branch3x3dbl_2", 96, 3, 1], ["branch3x3dbl_3", 96, 3, 1]]),
    poolBranch(g, path, x, c, poolFeatures),
  ],
  /** `InceptionB`: 35×35 → 17×17. */
  b: (g: GraphBuilder, path: string, x: Value, c: number) => [
    chain(g, path, x, c, [["branch3x3", 384, 3, 0, 2]]),
    chain(g, path, x, c, [["branch3x3dbl_1", 64, 1], ["branch3x3dbl_2", 96, 3, 1], ["branch3x3dbl_3", 96, 3, 0, 2]]),
    maxPool2d(g, path, x, { kernel: 3, stride: 2 }, true),
  ],
  /** `InceptionC(in, channels_7x7)`: factorised 7×7 convs on the 17×17 grid. */
  c: (g: GraphBuilder, path: string, x: Value, c: number, c7: number) => [
    chain(g, path, x, c, [["branch1x1", 192, 1]]),
    chain(g, path, x, c, [["branch7x7_1", c7, 1], ["branch7x7_2", c7, [1, 7], [0, 3]], ["branch7x7_3", 192, [7, 1], [3, 0]]]),
    chain(g, path, x, c, [
      ["branch7x7dbl_1", c7, 1],
      ["branch7x7dbl_2", c7, [7, 1], [3, 0]],
      ["branch7x7dbl_3", c7, [1, 7], [0, 3]],
      ["branch7x7dbl_4", c7, [7, 1], [3, 0]],
      ["branch7x7dbl_5", 192, [1, 7], [0, 3]],
    ]),
    poolBranch(g, path, x, c, 192),
  ],
  /** `InceptionD`: 17×17 → 8×8. */
  d: (g: GraphBuilder, path: string, x: Value, c: number) => [
    chain(g, path, x, c, [["branch3x3_1", 192, 1], ["branch3x3_2", 320, 3, 0, 2]]),
    chain(g, path, x, c, [
      ["branch7x7x3_1", 192, 1],
      ["branch7x7x3_2", 192, [1, 7], [0, 3]],
      ["branch7x7x3_3", 192, [7, 1], [3, 0]],
      ["branch7x7x3_4", 192, 3, 0, 2],
    ]),
    maxPool2d(g, path, x, { kernel: 3, stride: 2 }, true),
  ],
  /** `InceptionE`: 1×3 and 3×1 side by side, each pair concatenated first (`cat`, `cat_1`). */
  e: (g: GraphBuilder, path: string, x: Value, c: number) => {
    const split = (input: Value, a: string, b: string) =>
      cat(g, path, [chain(g, path, input, 384, [[a, 384, [1, 3], [0, 1]]]), chain(g, path, input, 384, [[b, 384, [3, 1], [1, 0]]])]);
    return [
      chain(g, path, x, c, [["branch1x1", 320, 1]]),
      split(chain(g, path, x, c, [["branch3x3_1", 384, 1]]), "branch3x3_2a", "branch3x3_2b"),
      split(chain(g, path, x, c, [["branch3x3dbl_1", 448, 1], ["branch3x3dbl_2", 384, 3, 1]]), "branch3x3dbl_3a", "branch3x3dbl_3b"),
      poolBranch(g, path, x, c, 192),
    ];
  },
};

/** `InceptionAux` on Mixed_6e: a classifier run only in training mode. */
function inceptionAux(g: GraphBuilder, path: string, x: Value): Value {
  let y = avgPool2d(g, path, x, { kernel: 5, stride: 3 }, true);
  y = chain(g, path, y, 768, [["conv0", 128, 1], ["conv1", 768, 5]]);
  y = flatten(g, path, adaptiveAvgPool2dCall(g, path, y, 1));
  return linear(g, `${path}.fc`, y, 768, 1000);
}

function inception_v3(): BackboneGraph {
  const g = new GraphBuilder("inception_v3");
  // `transform_input` is off without pretrained weights.
  let x = chain(g, "", g.input(), 3, [["Conv2d_1a_3x3", 32, 3, 0, 2], ["Conv2d_2a_3x3", 32, 3], ["Conv2d_2b_3x3", 64, 3, 1]]);
  x = maxPool2d(g, "maxpool1", x, { kernel: 3, stride: 2 });
  x = chain(g, "", x, 64, [["Conv2d_3b_1x1", 80, 1], ["Conv2d_4a_3x3", 192, 3]]);
  x = maxPool2d(g, "maxpool2", x, { kernel: 3, stride: 2 });
  const mixed: readonly (readonly [string, (x: Value, c: number) => Value[], number])[] = [
    ["Mixed_5b", (v, c) => blocks.a(g, "Mixed_5b", v, c, 32), 256],
    ["Mixed_5c", (v, c) => blocks.a(g, "Mixed_5c", v, c, 64), 288],
    ["Mixed_5d", (v, c) => blocks.a(g, "Mixed_5d", v, c, 64), 288],
    ["Mixed_6a", (v, c) => blocks.b(g, "Mixed_6a", v, c), 768],
    ["Mixed_6b", (v, c) => blocks.c(g, "Mixed_6b", v, c, 128), 768],
    ["Mixed_6c", (v, c) => blocks.c(g, "Mixed_6c", v, c, 160), 768],
    ["Mixed_6d", (v, c) => blocks.c(g, "Mixed_6d", v, c, 160), 768],
    ["Mixed_6e", (v, c) => blocks.c(g, "Mixed_6e", v, c, 192), 768],
    ["Mixed_7a", (v, c) => blocks.d(g, "Mixed_7a", v, c), 1280],
    ["Mixed_7b", (v, c) => blocks.e(g, "Mixed_7b", v, c), 2048],
    ["Mixed_7c", (v, c) => blocks.e(g, "Mixed_7c", v, c), 2048],
  ];
  let channels = 192;
  for (const [name, block, out] of mixed) {
    x = cat(g, name, block(x, channels));
    channels = out;
    // AuxLogits is registered between Mixed_6e and Mixed_7a.
    if (name === "Mixed_6e") g.trainingOnly("AuxLogits", (scratch, input) => inceptionAux(scratch, "AuxLogits", input));
  }
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = identity(g, "dropout", x);
  x = flatten(g, "", x);
  return g.finish(linear(g, "fc", x, 2048, 1000));
}

export const inceptionNetworks: NetworkTable = { inception_v3 };
