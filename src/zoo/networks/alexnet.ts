/** torchvision `models/alexnet.py`: AlexNet. */
import { GraphBuilder, type NetworkTable } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { activation, adaptiveAvgPool2d, conv2d, flatten, identity, linear, maxPool2d } from "../layers.js";

/** `features`: (out channels, kernel, stride, padding) per conv, each followed by a ReLU; "M" a 3×3/2 max pool. */
const FEATURES = [[64, 11, 4, 2], "M", [192, 5, 1, 2], "M", [384, 3, 1, 1], [256, 3, 1, 1], [256, 3, 1, 1], "M"] as const;

function alexnet(): BackboneGraph {
  const g = new GraphBuilder("alexnet");
  let x = g.input();
  let channels = 3;
  let index = 0;
  for (const layer of FEATURES) {
    if (layer === "M") {
      x = maxPool2d(g, `features.${index++}`, x, { kernel: 3, stride: 2 });
      continue;
    }
    const [out, kernel, stride, padding] = layer;
    x = conv2d(g, `features.${index++}`, x, { in: channels, out, kernel, stride, padding });
    x = activation(g, `features.${index++}`, x, "relu");
    channels = out;
  }
  x = adaptiveAvgPool2d(g, "avgpool", x, 6);
  x = flatten(g, "", x);
  x = identity(g, "classifier.0", x);
  x = linear(g, "classifier.1", x, 256 * 6 * 6, 4096);
  x = activation(g, "classifier.2", x, "relu");
  x = identity(g, "classifier.3", x);
  x = linear(g, "classifier.4", x, 4096, 4096);
  x = activation(g, "classifier.5", x, "relu");
  x = linear(g, "classifier.6", x, 4096, 1000);
  return g.finish(x);
}

export const alexnetNetworks: NetworkTable = { alexnet };
