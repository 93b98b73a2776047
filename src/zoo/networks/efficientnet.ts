/** torchvision `models/efficientnet.py`: EfficientNet (MBConv) and EfficientNetV2 (FusedMBConv + MBConv). */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import {
  adaptiveAvgPool2d,
  add,
  conv2dNormActivation,
  flatten,
  identity,
  linear,
  makeDivisible,
  squeezeExcitation,
} from "../layers.js";

/** One row of Table 1 (EfficientNet) or Table 4 (EfficientNetV2): a stage of identical blocks. */
interface StageConfig {
  block: "mbconv" | "fused_mbconv";
  expandRatio: number;
  kernel: number;
  stride: number;
  inputChannels: number;
  outChannels: number;
  numLayers: number;
}

interface BatchNormSettings {
  eps: number;
  momentum: number;
}

/** `_MBConvConfig.adjust_channels`. */
const adjustChannels = (channels: number, widthMult: number) => makeDivisible(channels * widthMult, 8);

/** `MBConvConfig`: channels scaled by the width multiplier, depth by the depth multiplier. */
function mbconvConfig(
  expandRatio: number,
  kernel: number,
  stride: number,
  inputChannels: number,
  outChannels: number,
  numLayers: number,
  widthMult = 1,
  depthMult = 1,
): StageConfig {
  return {
    block: "mbconv",
    expandRatio,
    kernel,
    stride,
    inputChannels: adjustChannels(inputChannels, widthMult),
    outChannels: adjustChannels(outChannels, widthMult),
    numLayers: Math.ceil(numLayers * depthMult),
  };
}

/** `FusedMBConvConfig`: no scaling (only EfficientNetV2 uses it). */
function fusedMBConvConfig(
  expandRatio: number,
  kernel: number,
  stride: number,
  inputChannels: number,
  outChannels: number,
  numLayers: number,
): StageConfig {
  return { block: "fused_mbconv", expandRatio, kernel, stride, inputChannels, outChannels, numLayers };
}

/** The residual tail both blocks share: stochastic depth (a no-op in eval) then `result += input`. */
function residual(g: GraphBuilder, path: string, result: Value, input: Value, cnf: StageConfig): Value {
  if (cnf.stride !== 1 || cnf.inputChannels !== cnf.outChannels) return result;
  result = identity(g, `${path}.stochastic_depth`, result);
  return add(g, path, result, input);
}

function mbconv(g: GraphBuilder, path: string, x: Value, cnf: StageConfig, norm: BatchNormSettings): Value {
  const expanded = adjustChannels(cnf.inputChannels, cnf.expandRatio);
  let layer = 0;
  const next = () => `${path}.block.${layer++}`;
  let y = x;
  if (expanded !== cnf.inputChannels)
    y = conv2dNormActivation(g, next(), y, { in: cnf.inputChannels, out: expanded, kernel: 1, activation: "silu", ...norm });
  y = conv2dNormActivation(g, next(), y, {
    in: expanded,
    out: expanded,
    kernel: cnf.kernel,
    stride: cnf.stride,
    groups: expanded,
    activation: "silu",
    ...norm,
  });
  const squeeze = Math.max(1, Math.floor(cnf.inputChannels / 4));
  y = squeezeExcitation(g, next(), y, { in: expanded, squeeze, activation: "silu" });
  y = conv2dNormActivation(g, next(), y, { in: expanded, out: cnf.outChannels, kernel: 1, activation: null, ...norm });
  return residual(g, path, y, x, cnf);
}

function fusedMBConv(g: GraphBuilder, path: string, x: Value, cnf: StageConfig, norm: BatchNormSettings): Value {
  const expanded = adjustChannels(cnf.inputChannels, cnf.expandRatio);
  let y: Value;
  if (expanded !== cnf.inputChannels) {
    // The expansion is the full k×k strided conv; a 1×1 projection follows.
    y = conv2dNormActivation(g, `${path}.block.0`, x, {
      in: cnf.inputChannels,
      out: expanded,
      kernel: cnf.kernel,
      stride: cnf.stride,
      activation: "silu",
      ...norm,
    });
    y = conv2dNormActivation(g, `${path}.block.1`, y, { in: expanded, out: cnf.outChannels, kernel: 1, activation: null, ...norm });
  } else {
    y = conv2dNormActivation(g, `${path}.block.0`, x, {
      in: cnf.inputChannels,
      out: cnf.outChannels,
      kernel: cnf.kernel,
      stride: cnf.stride,
      activation: "silu",
      ...norm,
    });
  }
  return residual(g, path, y, x, cnf);
}

interface EfficientNetConfig {
  stages: readonly StageConfig[];
  /** `None` in torchvision for V1: then 4 × the last stage's channels. */
  lastChannel?: number;
  /**
   * The norm layer torchvision passes: PyTorch's BatchNorm2d (eps 1e-5, momentum 0.1) but for
   * B5–B7 (`eps=0.001, momentum=0.01`) and V2 (`eps=1e-03`).
   */
  eps?: number;
  momentum?: number;
}

function efficientnet(name: string, config: EfficientNetConfig): BackboneGraph {
  const g = new GraphBuilder(name);
  const norm = { eps: config.eps ?? 1e-5, momentum: config.momentum ?? 0.1 };
  const stages = config.stages;
  let x = g.input();
  const firstChannels = stages[0]!.inputChannels;
  x = conv2dNormActivation(g, "features.0", x, { in: 3, out: firstChannels, kernel: 3, stride: 2, activation: "silu", ...norm });
  stages.forEach((stage, index) => {
    for (let i = 0; i < stage.numLayers; i++) {
      // Blocks after a stage's first take its output width and stride 1.
      const cnf = i === 0 ? stage : { ...stage, inputChannels: stage.outChannels, stride: 1 };
      const path = `features.${index + 1}.${i}`;
      x = cnf.block === "mbconv" ? mbconv(g, path, x, cnf, norm) : fusedMBConv(g, path, x, cnf, norm);
    }
  });
  const lastInput = stages[stages.length - 1]!.outChannels;
  const lastOutput = config.lastChannel ?? 4 * lastInput;
  x = conv2dNormActivation(g, `features.${stages.length + 1}`, x, {
    in: lastInput,
    out: lastOutput,
    kernel: 1,
    activation: "silu",
    ...norm,
  });
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = flatten(g, "", x);
  x = identity(g, "classifier.0", x);
  x = linear(g, "classifier.1", x, lastOutput, 1000);
  return g.finish(x);
}

/** `_efficientnet_conf("efficientnet_b*")`: the B0 table scaled by width and depth multipliers. */
function efficientnetV1Stages(widthMult: number, depthMult: number): StageConfig[] {
  const bneck = (e: number, k: number, s: number, i: number, o: number, n: number) =>
    mbconvConfig(e, k, s, i, o, n, widthMult, depthMult);
  return [
    bneck(1, 3, 1, 32, 16, 1),
    bneck(6, 3, 2, 16, 24, 2),
    bneck(6, 5, 2, 24, 40, 2),
    bneck(6, 3, 2, 40, 80, 3),
    bneck(6, 5, 1, 80, 112, 3),
    bneck(6, 5, 2, 112, 192, 4),
    bneck(6, 3, 1, 192, 320, 1),
  ];
}

/** B5–B7's `partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)`. */
const B5_NORM = { eps: 1e-3, momentum: 0.01 } as const;

export const efficientnetNetworks = variants(efficientnet, {
  efficientnet_b0: { stages: efficientnetV1Stages(1.0, 1.0) },
  efficientnet_b1: { stages: efficientnetV1Stages(1.0, 1.1) },
  efficientnet_b2: { stages: efficientnetV1Stages(1.1, 1.2) },
  efficientnet_b3: { stages: efficientnetV1Stages(1.2, 1.4) },
  efficientnet_b4: { stages: efficientnetV1Stages(1.4, 1.8) },
  efficientnet_b5: { stages: efficientnetV1Stages(1.6, 2.2), ...B5_NORM },
  efficientnet_b6: { stages: efficientnetV1Stages(1.8, 2.6), ...B5_NORM },
  efficientnet_b7: { stages: efficientnetV1Stages(2.0, 3.1), ...B5_NORM },
  efficientnet_v2_s: {
    stages: [
      fusedMBConvConfig(1, 3, 1, 24, 24, 2),
      fusedMBConvConfig(4, 3, 2, 24, 48, 4),
      fusedMBConvConfig(4, 3, 2, 48, 64, 4),
      mbconvConfig(4, 3, 2, 64, 128, 6),
      mbconvConfig(6, 3, 1, 128, 160, 9),
      mbconvConfig(6, 3, 2, 160, 256, 15),
    ],
    lastChannel: 1280,
    eps: 1e-3,
  },
  efficientnet_v2_m: {
    stages: [
      fusedMBConvConfig(1, 3, 1, 24, 24, 3),
      fusedMBConvConfig(4, 3, 2, 24, 48, 5),
      fusedMBConvConfig(4, 3, 2, 48, 80, 5),
      mbconvConfig(4, 3, 2, 80, 160, 7),
      mbconvConfig(6, 3, 1, 160, 176, 14),
      mbconvConfig(6, 3, 2, 176, 304, 18),
      mbconvConfig(6, 3, 1, 304, 512, 5),
    ],
    lastChannel: 1280,
    eps: 1e-3,
  },
  efficientnet_v2_l: {
    stages: [
      fusedMBConvConfig(1, 3, 1, 32, 32, 4),
      fusedMBConvConfig(4, 3, 2, 32, 64, 7),
      fusedMBConvConfig(4, 3, 2, 64, 96, 7),
      mbconvConfig(4, 3, 2, 96, 192, 10),
      mbconvConfig(6, 3, 1, 192, 224, 19),
      mbconvConfig(6, 3, 2, 224, 384, 25),
      mbconvConfig(6, 3, 1, 384, 640, 7),
    ],
    lastChannel: 1280,
    eps: 1e-3,
  },
});
