/** torchvision `models/resnet.py`: ResNet, ResNeXt and Wide ResNet. */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import { activation, adaptiveAvgPool2d, add, batchNorm2d, conv2d, flatten, linear, maxPool2d } from "../layers.js";

interface ResNetConfig {
  block: "basic" | "bottleneck";
  layers: readonly [number, number, number, number];
  groups?: number;
  widthPerGroup?: number;
}

function basicBlock(g: GraphBuilder, path: string, x: Value, inplanes: number, planes: number, stride: number): Value {
  let out = conv2d(g, `${path}.conv1`, x, { in: inplanes, out: planes, kernel: 3, stride, padding: 1, bias: false });
  out = batchNorm2d(g, `${path}.bn1`, out, planes);
  out = activation(g, `${path}.relu`, out, "relu");
  out = conv2d(g, `${path}.conv2`, out, { in: planes, out: planes, kernel: 3, padding: 1, bias: false });
  out = batchNorm2d(g, `${path}.bn2`, out, planes);
  const identity = downsample(g, path, x, inplanes, planes, stride);
  out = add(g, path, out, identity);
  return activation(g, `${path}.relu`, out, "relu");
}

function bottleneck(
  g: GraphBuilder,
  path: string,
  x: Value,
  inplanes: number,
  planes: number,
  stride: number,
  groups: number,
  baseWidth: number,
): Value {
  const width = Math.floor(planes * (baseWidth / 64)) * groups;
  const expanded = planes * 4;
  let out = conv2d(g, `${path}.conv1`, x, { in: inplanes, out: width, kernel: 1, bias: false });
  out = batchNorm2d(g, `${path}.bn1`, out, width);
  out = activation(g, `${path}.relu`, out, "relu");
  out = conv2d(g, `${path}.conv2`, out, { in: width, out: width, kernel: 3, stride, padding: 1, groups, bias: false });
  out = batchNorm2d(g, `${path}.bn2`, out, width);
  out = activation(g, `${path}.relu`, out, "relu");
  out = conv2d(g, `${path}.conv3`, out, { in: width, out: expanded, kernel: 1, bias: false });
  out = batchNorm2d(g, `${path}.bn3`, out, expanded);
  const identity = downsample(g, path, x, inplanes, expanded, stride);
  out = add(g, path, out, identity);
  return activation(g, `${path}.relu`, out, "relu");
}

/** The 1×1 projection shortcut, present when the block changes stride or width. */
function downsample(g: GraphBuilder, path: string, x: Value, inplanes: number, out: number, stride: number): Value {
  if (stride === 1 && inplanes === out) return x;
  const y = conv2d(g, `${path}.downsample.0`, x, { in: inplanes, out, kernel: 1, stride, bias: false });
  return batchNorm2d(g, `${path}.downsample.1`, y, out);
}

function resnet(name: string, config: ResNetConfig): BackboneGraph {
  const g = new GraphBuilder(name);
  const groups = config.groups ?? 1;
  const baseWidth = config.widthPerGroup ?? 64;
  const expansion = config.block === "basic" ? 1 : 4;
  let x = g.input();
  x = conv2d(g, "conv1", x, { in: 3, out: 64, kernel: 7, stride: 2, padding: 3, bias: false });
  x = batchNorm2d(g, "bn1", x, 64);
  x = activation(g, "relu", x, "relu");
  x = maxPool2d(g, "maxpool", x, { kernel: 3, stride: 2, padding: 1 });
  let inplanes = 64;
  config.layers.forEach((blocks, stage) => {
    const planes = 64 * 2 ** stage;
    for (let i = 0; i < blocks; i++) {
      const path = `layer${stage + 1}.${i}`;
      const stride = i === 0 && stage > 0 ? 2 : 1;
      x =
        config.block === "basic"
          ? basicBlock(g, path, x, inplanes, planes, stride)
          : bottleneck(g, path, x, inplanes, planes, stride, groups, baseWidth);
      inplanes = planes * expansion;
    }
  });
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = flatten(g, "", x);
  x = linear(g, "fc", x, inplanes, 1000);
  return g.finish(x);
}

export const resnetNetworks = variants(resnet, {
  resnet18: { block: "basic", layers: [2, 2, 2, 2] },
  resnet34: { block: "basic", layers: [3, 4, 6, 3] },
  resnet50: { block: "bottleneck", layers: [3, 4, 6, 3] },
  resnet101: { block: "bottleneck", layers: [3, 4, 23, 3] },
  resnet152: { block: "bottleneck", layers: [3, 8, 36, 3] },
  resnext50_32x4d: { block: "bottleneck", layers: [3, 4, 6, 3], groups: 32, widthPerGroup: 4 },
  resnext101_32x8d: { block: "bottleneck", layers: [3, 4, 23, 3], groups: 32, widthPerGroup: 8 },
  resnext101_64x4d: { block: "bottleneck", layers: [3, 4, 23, 3], groups: 64, widthPerGroup: 4 },
  wide_resnet50_2: { block: "bottleneck", layers: [3, 4, 6, 3], widthPerGroup: 128 },
  wide_resnet101_2: { block: "bottleneck", layers: [3, 4, 23, 3], widthPerGroup: 128 },
});
