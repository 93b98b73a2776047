/** torchvision `models/mobilenetv2.py` and `models/mobilenetv3.py`. */
import { GraphBuilder, type NetworkTable, type Value } from "../builder.js";
import type { Activation, BackboneGraph } from "../graph.js";
import {
  adaptiveAvgPool2d,
  adaptiveAvgPool2dCall,
  activation,
  add,
  batchNorm2d,
  conv2d,
  conv2dNormActivation,
  flatten,
  identity,
  linear,
  makeDivisible,
  squeezeExcitation,
} from "../layers.js";

// ---------------------------------------------------------------- MobileNetV2

/** One row of torchvision's `inverted_residual_setting`: expand ratio t, channels c, repeats n, stride s. */
type V2Stage = readonly [t: number, c: number, n: number, s: number];

const V2_SETTING: readonly V2Stage[] = [
  [1, 16, 1, 1],
  [6, 24, 2, 2],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];

/** MobileNetV2's `InvertedResidual`: its layers live in `conv`, a Sequential with no expand step when t = 1. */
function invertedResidualV2(
  g: GraphBuilder,
  path: string,
  x: Value,
  inp: number,
  oup: number,
  stride: number,
  expandRatio: number,
): Value {
  const hidden = Math.round(inp * expandRatio);
  let index = 0;
  let y = x;
  if (expandRatio !== 1)
    y = conv2dNormActivation(g, `${path}.conv.${index++}`, y, { in: inp, out: hidden, kernel: 1, activation: "relu6" });
  y = conv2dNormActivation(g, `${path}.conv.${index++}`, y, {
    in: hidden,
    out: hidden,
    kernel: 3,
    stride,
    groups: hidden,
    activation: "relu6",
  });
  y = conv2d(g, `${path}.conv.${index++}`, y, { in: hidden, out: oup, kernel: 1, bias: false });
  y = batchNorm2d(g, `${path}.conv.${index++}`, y, oup);
  // `x + self.conv(x)`: the shortcut is the left operand here, unlike V3.
  return stride === 1 && inp === oup ? add(g, path, x, y) : y;
}

function mobilenet_v2(): BackboneGraph {
  const g = new GraphBuilder("mobilenet_v2");
  const lastChannel = 1280;
  let x = conv2dNormActivation(g, "features.0", g.input(), { in: 3, out: 32, kernel: 3, stride: 2, activation: "relu6" });
  let inputChannel = 32;
  let index = 1;
  for (const [t, c, n, s] of V2_SETTING) {
    for (let i = 0; i < n; i++) {
      x = invertedResidualV2(g, `features.${index++}`, x, inputChannel, c, i === 0 ? s : 1, t);
      inputChannel = c;
    }
  }
  x = conv2dNormActivation(g, `features.${index}`, x, { in: inputChannel, out: lastChannel, kernel: 1, activation: "relu6" });
  // The forward pools with the function, not a module, so the node is `adaptive_avg_pool2d`.
  x = adaptiveAvgPool2dCall(g, "", x, 1);
  x = flatten(g, "", x);
  x = identity(g, "classifier.0", x);
  x = linear(g, "classifier.1", x, lastChannel, 1000);
  return g.finish(x);
}

// ---------------------------------------------------------------- MobileNetV3

/** torchvision's `InvertedResidualConfig` (width_mult 1, so `adjust_channels` keeps every count). */
interface BneckConfig {
  readonly input: number;
  readonly kernel: number;
  readonly expanded: number;
  readonly out: number;
  readonly useSe: boolean;
  readonly activation: Activation;
  readonly stride: number;
  readonly dilation: number;
}

/** Same argument order as torchvision's `bneck_conf`, so the tables below read like its source. */
const bneck = (
  input: number,
  kernel: number,
  expanded: number,
  out: number,
  useSe: boolean,
  act: "RE" | "HS",
  stride: number,
  dilation: number,
): BneckConfig => ({
  input,
  kernel,
  expanded,
  out,
  useSe,
  activation: act === "HS" ? "hardswish" : "relu",
  stride,
  dilation,
});

const V3_LARGE: readonly BneckConfig[] = [
  bneck(16, 3, 16, 16, false, "RE", 1, 1),
  bneck(16, 3, 64, 24, false, "RE", 2, 1),
  bneck(24, 3, 72, 24, false, "RE", 1, 1),
  bneck(24, 5, 72, 40, true, "RE", 2, 1),
  bneck(40, 5, 120, 40, true, "RE", 1, 1),
  bneck(40, 5, 120, 40, true, "RE", 1, 1),
  bneck(40, 3, 240, 80, false, "HS", 2, 1),
  bneck(80, 3, 200, 80, false, "HS", 1, 1),
  bneck(80, 3, 184, 80, false, "HS", 1, 1),
  bneck(80, 3, 184, 80, false, "HS", 1, 1),
  bneck(80, 3, 480, 112, true, "HS", 1, 1),
  bneck(112, 3, 672, 112, true, "HS", 1, 1),
  bneck(112, 5, 672, 160, true, "HS", 2, 1),
  bneck(160, 5, 960, 160, true, "HS", 1, 1),
  bneck(160, 5, 960, 160, true, "HS", 1, 1),
];

const V3_SMALL: readonly BneckConfig[] = [
  bneck(16, 3, 16, 16, true, "RE", 2, 1),
  bneck(16, 3, 72, 24, false, "RE", 2, 1),
  bneck(24, 3, 88, 24, false, "RE", 1, 1),
  bneck(24, 5, 96, 40, true, "HS", 2, 1),
  bneck(40, 5, 240, 40, true, "HS", 1, 1),
  bneck(40, 5, 240, 40, true, "HS", 1, 1),
  bneck(40, 5, 120, 48, true, "HS", 1, 1),
  bneck(48, 5, 144, 48, true, "HS", 1, 1),
  bneck(48, 5, 288, 96, true, "HS", 2, 1),
  bneck(96, 5, 576, 96, true, "HS", 1, 1),
  bneck(96, 5, 576, 96, true, "HS", 1, 1),
];

/** MobileNetV3's norm layer: `partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)`. */
const V3_NORM = { eps: 0.001, momentum: 0.01 } as const;

/** MobileNetV3's `InvertedResidual`: its layers live in `block`; SE uses a hard sigmoid. */
function invertedResidualV3(g: GraphBuilder, path: string, x: Value, cnf: BneckConfig): Value {
  const act = cnf.activation;
  let index = 0;
  let y = x;
  if (cnf.expanded !== cnf.input)
    y = conv2dNormActivation(g, `${path}.block.${index++}`, y, {
      in: cnf.input,
      out: cnf.expanded,
      kernel: 1,
      activation: act,
      ...V3_NORM,
    });
  y = conv2dNormActivation(g, `${path}.block.${index++}`, y, {
    in: cnf.expanded,
    out: cnf.expanded,
    kernel: cnf.kernel,
    // A dilated block keeps its resolution instead of striding.
    stride: cnf.dilation > 1 ? 1 : cnf.stride,
    dilation: cnf.dilation,
    groups: cnf.expanded,
    activation: act,
    ...V3_NORM,
  });
  if (cnf.useSe)
    y = squeezeExcitation(g, `${path}.block.${index++}`, y, {
      in: cnf.expanded,
      squeeze: makeDivisible(Math.floor(cnf.expanded / 4), 8),
      scaleActivation: "hardsigmoid",
    });
  y = conv2dNormActivation(g, `${path}.block.${index++}`, y, {
    in: cnf.expanded,
    out: cnf.out,
    kernel: 1,
    activation: null,
    ...V3_NORM,
  });
  // `result += input` traces as `add(result, input)`.
  return cnf.stride === 1 && cnf.input === cnf.out ? add(g, path, y, x) : y;
}

function mobilenetV3(name: string, setting: readonly BneckConfig[], lastChannel: number): BackboneGraph {
  const g = new GraphBuilder(name);
  const first = setting[0]!;
  const last = setting[setting.length - 1]!;
  let x = conv2dNormActivation(g, "features.0", g.input(), {
    in: 3,
    out: first.input,
    kernel: 3,
    stride: 2,
    activation: "hardswish",
    ...V3_NORM,
  });
  setting.forEach((cnf, i) => {
    x = invertedResidualV3(g, `features.${i + 1}`, x, cnf);
  });
  const lastconvChannels = 6 * last.out;
  x = conv2dNormActivation(g, `features.${setting.length + 1}`, x, {
    in: last.out,
    out: lastconvChannels,
    kernel: 1,
    activation: "hardswish",
    ...V3_NORM,
  });
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = flatten(g, "", x);
  x = linear(g, "classifier.0", x, lastconvChannels, lastChannel);
  x = activation(g, "classifier.1", x, "hardswish");
  x = identity(g, "classifier.2", x);
  x = linear(g, "classifier.3", x, lastChannel, 1000);
  return g.finish(x);
}

export const mobilenetV2Networks: NetworkTable = { mobilenet_v2 };

export const mobilenetV3Networks: NetworkTable = {
  mobilenet_v3_large: () => mobilenetV3("mobilenet_v3_large", V3_LARGE, 1280),
  mobilenet_v3_small: () => mobilenetV3("mobilenet_v3_small", V3_SMALL, 1024),
};
