/** torchvision `models/googlenet.py`: GoogLeNet (Inception v1), as `googlenet(weights=None)` builds it. */
import { GraphBuilder, type NetworkTable, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { adaptiveAvgPool2dCall, basicConv2d, cat, flatten, identity, linear, maxPool2d, reluCall, adaptiveAvgPool2d } from "../layers.js";

/** An `Inception` block's widths: 1×1, 3×3 reduce, 3×3, "5×5" reduce, "5×5" (a 3×3 in torchvision), pool projection. */
type InceptionWidths = readonly [number, number, number, number, number, number];

/** `Inception`: four branches side by side, concatenated. */
function inception(g: GraphBuilder, path: string, x: Value, inChannels: number, w: InceptionWidths): Value {
  const [ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, poolProj] = w;
  const branch1 = basicConv2d(g, `${path}.branch1`, x, { in: inChannels, out: ch1x1, kernel: 1 });
  let branch2 = basicConv2d(g, `${path}.branch2.0`, x, { in: inChannels, out: ch3x3red, kernel: 1 });
  branch2 = basicConv2d(g, `${path}.branch2.1`, branch2, { in: ch3x3red, out: ch3x3, kernel: 3, padding: 1 });
  let branch3 = basicConv2d(g, `${path}.branch3.0`, x, { in: inChannels, out: ch5x5red, kernel: 1 });
  branch3 = basicConv2d(g, `${path}.branch3.1`, branch3, { in: ch5x5red, out: ch5x5, kernel: 3, padding: 1 });
  let branch4 = maxPool2d(g, `${path}.branch4.0`, x, { kernel: 3, stride: 1, padding: 1, ceilMode: true });
  branch4 = basicConv2d(g, `${path}.branch4.1`, branch4, { in: inChannels, out: poolProj, kernel: 1 });
  return cat(g, path, [branch1, branch2, branch3, branch4]);
}

/** `InceptionAux`: a classifier on an intermediate map, run only in training mode. */
function inceptionAux(g: GraphBuilder, path: string, x: Value, inChannels: number): Value {
  let y = adaptiveAvgPool2dCall(g, path, x, 4);
  y = basicConv2d(g, `${path}.conv`, y, { in: inChannels, out: 128, kernel: 1 });
  y = flatten(g, path, y);
  y = reluCall(g, path, linear(g, `${path}.fc1`, y, 2048, 1024));
  y = identity(g, `${path}.dropout`, y);
  return linear(g, `${path}.fc2`, y, 1024, 1000);
}

/** The blocks between the stem and the classifier: an `Inception` block's widths, or a max pool's kernel. */
const BLOCKS: readonly (readonly [string, InceptionWidths | number])[] = [
  ["inception3a", [64, 96, 128, 16, 32, 32]],
  ["inception3b", [128, 128, 192, 32, 96, 64]],
  ["maxpool3", 3],
  ["inception4a", [192, 96, 208, 16, 48, 64]],
  ["inception4b", [160, 112, 224, 24, 64, 64]],
  ["inception4c", [128, 128, 256, 24, 64, 64]],
  ["inception4d", [112, 144, 288, 32, 64, 64]],
  ["inception4e", [256, 160, 320, 32, 128, 128]],
  ["maxpool4", 2],
  ["inception5a", [256, 160, 320, 32, 128, 128]],
  ["inception5b", [384, 192, 384, 48, 128, 128]],
];

function googlenet(): BackboneGraph {
  const g = new GraphBuilder("googlenet");
  // `transform_input` is off without pretrained weights.
  let x = basicConv2d(g, "conv1", g.input(), { in: 3, out: 64, kernel: 7, stride: 2, padding: 3 });
  x = maxPool2d(g, "maxpool1", x, { kernel: 3, stride: 2, ceilMode: true });
  x = basicConv2d(g, "conv2", x, { in: 64, out: 64, kernel: 1 });
  x = basicConv2d(g, "conv3", x, { in: 64, out: 192, kernel: 3, padding: 1 });
  x = maxPool2d(g, "maxpool2", x, { kernel: 3, stride: 2, ceilMode: true });
  let channels = 192;
  for (const [name, block] of BLOCKS) {
    if (typeof block === "number") {
      x = maxPool2d(g, name, x, { kernel: block, stride: 2, ceilMode: true });
      continue;
    }
    x = inception(g, name, x, channels, block);
    channels = block[0] + block[2] + block[4] + block[5];
  }
  // The auxiliary classifiers on inception4a and inception4d; their modules come after inception5b.
  g.trainingOnly("aux1", (scratch, input) => inceptionAux(scratch, "aux1", input, 512));
  g.trainingOnly("aux2", (scratch, input) => inceptionAux(scratch, "aux2", input, 528));
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = flatten(g, "", x);
  x = identity(g, "dropout", x);
  return g.finish(linear(g, "fc", x, 1024, 1000));
}

export const googlenetNetworks: NetworkTable = { googlenet };
