/** torchvision `models/densenet.py`: DenseNet-121, -161, -169 and -201. */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { activation, adaptiveAvgPool2dCall, avgPool2d, batchNorm2d, cat, conv2d, flatten, linear, maxPool2d, reluCall } from "../layers.js";

/** The arguments of `_densenet`. */
interface DenseNetConfig {
  growthRate: number;
  blockConfig: readonly [number, number, number, number];
  numInitFeatures: number;
}

/** `bn_size`: the bottleneck is 4 × growth rate wide. */
const BN_SIZE = 4;

/** `_DenseLayer`: concatenates every earlier feature map, then BN-ReLU-1×1, BN-ReLU-3×3 to `growth` channels. */
function denseLayer(g: GraphBuilder, path: string, features: readonly Value[], inChannels: number, growth: number): Value {
  const bottleneck = BN_SIZE * growth;
  let y = cat(g, path, features);
  y = activation(g, `${path}.relu1`, batchNorm2d(g, `${path}.norm1`, y, inChannels), "relu");
  y = conv2d(g, `${path}.conv1`, y, { in: inChannels, out: bottleneck, kernel: 1, bias: false });
  y = activation(g, `${path}.relu2`, batchNorm2d(g, `${path}.norm2`, y, bottleneck), "relu");
  return conv2d(g, `${path}.conv2`, y, { in: bottleneck, out: growth, kernel: 3, padding: 1, bias: false });
}

function densenet(name: string, config: DenseNetConfig): BackboneGraph {
  const g = new GraphBuilder(name);
  let x = conv2d(g, "features.conv0", g.input(), { in: 3, out: config.numInitFeatures, kernel: 7, stride: 2, padding: 3, bias: false });
  x = activation(g, "features.relu0", batchNorm2d(g, "features.norm0", x, config.numInitFeatures), "relu");
  x = maxPool2d(g, "features.pool0", x, { kernel: 3, stride: 2, padding: 1 });
  let channels = config.numInitFeatures;
  config.blockConfig.forEach((numLayers, i) => {
    const block = `features.denseblock${i + 1}`;
    const features = [x];
    for (let l = 0; l < numLayers; l++)
      features.push(denseLayer(g, `${block}.denselayer${l + 1}`, features, channels + l * config.growthRate, config.growthRate));
    x = cat(g, block, features);
    channels += numLayers * config.growthRate;
    if (i === config.blockConfig.length - 1) return;
    // `_Transition`: BN-ReLU-1×1 halving the channels, then a 2×2 average pool.
    const transition = `features.transition${i + 1}`;
    x = activation(g, `${transition}.relu`, batchNorm2d(g, `${transition}.norm`, x, channels), "relu");
    x = conv2d(g, `${transition}.conv`, x, { in: channels, out: Math.floor(channels / 2), kernel: 1, bias: false });
    x = avgPool2d(g, `${transition}.pool`, x, { kernel: 2, stride: 2 });
    channels = Math.floor(channels / 2);
  });
  x = batchNorm2d(g, "features.norm5", x, channels);
  x = reluCall(g, "", x);
  x = adaptiveAvgPool2dCall(g, "", x, 1);
  x = flatten(g, "", x);
  return g.finish(linear(g, "classifier", x, channels, 1000));
}

export const densenetNetworks = variants(densenet, {
  densenet121: { growthRate: 32, blockConfig: [6, 12, 24, 16], numInitFeatures: 64 },
  densenet161: { growthRate: 48, blockConfig: [6, 12, 36, 24], numInitFeatures: 96 },
  densenet169: { growthRate: 32, blockConfig: [6, 12, 32, 32], numInitFeatures: 64 },
  densenet201: { growthRate: 32, blockConfig: [6, 12, 48, 32], numInitFeatures: 64 },
});
