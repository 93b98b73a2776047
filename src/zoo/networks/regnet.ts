/** torchvision `models/regnet.py`: RegNetX and RegNetY (ResBottleneckBlock, SimpleStemIN). */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import {
  activation,
  adaptiveAvgPool2d,
  add,
  conv2dNormActivation,
  flatten,
  linear,
  makeDivisible,
  squeezeExcitation,
} from "../layers.js";
import { roundHalfToEven } from "../../util/numerics.js";

/** `_regnet`'s norm layer: `partial(nn.BatchNorm2d, eps=1e-05, momentum=0.1)`. */
const BATCH_NORM = { eps: 1e-5, momentum: 0.1 } as const;

/** The arguments of `BlockParams.from_init_params`. */
interface RegNetParams {
  depth: number;
  w0: number;
  wA: number;
  wM: number;
  groupWidth: number;
  bottleneckMultiplier?: number;
  seRatio?: number;
}

interface StageParams {
  width: number;
  stride: number;
  depth: number;
  groupWidth: number;
  bottleneckMultiplier: number;
}

const f32 = Math.fround;

/**
 * `BlockParams.from_init_params`: block widths on a log-linear ramp quantised to multiples of 8,
 * consecutive equal widths forming a stage, then widths adjusted to fit the group width.
 * The ramp is computed in float32, as torch does it (`torch.arange(depth) * w_a` is float32).
 */
function blockParams(p: RegNetParams): StageParams[] {
  const QUANT = 8;
  const STRIDE = 2;
  const bottleneckMultiplier = p.bottleneckMultiplier ?? 1;
  const logWM = f32(Math.log(p.wM));
  const blockWidths = Array.from({ length: p.depth }, (_, i) => {
    const widthCont = f32(f32(i * f32(p.wA)) + p.w0);
    const capacity = roundHalfToEven(f32(f32(Math.log(f32(widthCont / p.w0))) / logWM));
    return roundHalfToEven(f32(f32(p.w0 * f32(Math.pow(f32(p.wM), capacity))) / QUANT)) * QUANT;
  });
  const starts = blockWidths.flatMap((w, i) => (i === 0 || w !== blockWidths[i - 1] ? [i] : []));
  return starts.map((start, k) => {
    // _adjust_widths_groups_compatibilty: the bottleneck width must be a multiple of the group width.
    const bottleneckWidth = Math.trunc(blockWidths[start]! * bottleneckMultiplier);
    const groupWidth = Math.min(p.groupWidth, bottleneckWidth);
    return {
      width: Math.trunc(makeDivisible(bottleneckWidth, groupWidth) / bottleneckMultiplier),
      stride: STRIDE,
      depth: (starts[k + 1] ?? p.depth) - start,
      groupWidth,
      bottleneckMultiplier,
    };
  });
}

/** `BottleneckTransform`: 1×1, grouped 3×3 [+ SE], 1×1 without activation. */
function bottleneckTransform(
  g: GraphBuilder,
  path: string,
  x: Value,
  widthIn: number,
  widthOut: number,
  stride: number,
  stage: StageParams,
  seRatio: number | undefined,
): Value {
  const bottleneckWidth = roundHalfToEven(widthOut * stage.bottleneckMultiplier);
  const groups = Math.floor(bottleneckWidth / stage.groupWidth);
  let y = conv2dNormActivation(g, `${path}.a`, x, { in: widthIn, out: bottleneckWidth, kernel: 1, ...BATCH_NORM });
  y = conv2dNormActivation(g, `${path}.b`, y, {
    in: bottleneckWidth,
    out: bottleneckWidth,
    kernel: 3,
    stride,
    groups,
    ...BATCH_NORM,
  });
  if (seRatio) {
    // The SE reduction is relative to the block's input width.
    y = squeezeExcitation(g, `${path}.se`, y, { in: bottleneckWidth, squeeze: roundHalfToEven(seRatio * widthIn) });
  }
  return conv2dNormActivation(g, `${path}.c`, y, {
    in: bottleneckWidth,
    out: widthOut,
    kernel: 1,
    activation: null,
    ...BATCH_NORM,
  });
}

/** `ResBottleneckBlock`: relu(shortcut + f(x)), the shortcut projected when the shape changes. */
function resBottleneckBlock(
  g: GraphBuilder,
  path: string,
  x: Value,
  widthIn: number,
  widthOut: number,
  stride: number,
  stage: StageParams,
  seRatio: number | undefined,
): Value {
  const shortcut =
    widthIn !== widthOut || stride !== 1
      ? conv2dNormActivation(g, `${path}.proj`, x, {
          in: widthIn,
          out: widthOut,
          kernel: 1,
          stride,
          activation: null,
          ...BATCH_NORM,
        })
      : x;
  const f = bottleneckTransform(g, `${path}.f`, x, widthIn, widthOut, stride, stage, seRatio);
  return activation(g, `${path}.activation`, add(g, path, shortcut, f), "relu");
}

function regnet(name: string, params: RegNetParams): BackboneGraph {
  const g = new GraphBuilder(name);
  const stemWidth = 32;
  let x = g.input();
  x = conv2dNormActivation(g, "stem", x, { in: 3, out: stemWidth, kernel: 3, stride: 2, ...BATCH_NORM });
  let currentWidth = stemWidth;
  blockParams(params).forEach((stage, s) => {
    const stagePath = `trunk_output.block${s + 1}`;
    for (let i = 0; i < stage.depth; i++) {
      const widthIn = i === 0 ? currentWidth : stage.width;
      const stride = i === 0 ? stage.stride : 1;
      x = resBottleneckBlock(g, `${stagePath}.block${s + 1}-${i}`, x, widthIn, stage.width, stride, stage, params.seRatio);
    }
    currentWidth = stage.width;
  });
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = flatten(g, "", x);
  x = linear(g, "fc", x, currentWidth, 1000);
  return g.finish(x);
}

/** The arguments each builder passes to `BlockParams.from_init_params`. */
export const regnetNetworks = variants(regnet, {
  regnet_y_400mf: { depth: 16, w0: 48, wA: 27.89, wM: 2.09, groupWidth: 8, seRatio: 0.25 },
  regnet_y_800mf: { depth: 14, w0: 56, wA: 38.84, wM: 2.4, groupWidth: 16, seRatio: 0.25 },
  regnet_y_1_6gf: { depth: 27, w0: 48, wA: 20.71, wM: 2.65, groupWidth: 24, seRatio: 0.25 },
  regnet_y_3_2gf: { depth: 21, w0: 80, wA: 42.63, wM: 2.66, groupWidth: 24, seRatio: 0.25 },
  regnet_y_8gf: { depth: 17, w0: 192, wA: 76.82, wM: 2.19, groupWidth: 56, seRatio: 0.25 },
  regnet_y_16gf: { depth: 18, w0: 200, wA: 106.23, wM: 2.48, groupWidth: 112, seRatio: 0.25 },
  regnet_y_32gf: { depth: 20, w0: 232, wA: 115.89, wM: 2.53, groupWidth: 232, seRatio: 0.25 },
  regnet_y_128gf: { depth: 27, w0: 456, wA: 160.83, wM: 2.52, groupWidth: 264, seRatio: 0.25 },
  regnet_x_400mf: { depth: 22, w0: 24, wA: 24.48, wM: 2.54, groupWidth: 16 },
  regnet_x_800mf: { depth: 16, w0: 56, wA: 35.73, wM: 2.28, groupWidth: 16 },
  regnet_x_1_6gf: { depth: 18, w0: 80, wA: 34.01, wM: 2.25, groupWidth: 24 },
  regnet_x_3_2gf: { depth: 25, w0: 88, wA: 26.31, wM: 2.25, groupWidth: 48 },
  regnet_x_8gf: { depth: 23, w0: 80, wA: 49.56, wM: 2.88, groupWidth: 120 },
  regnet_x_16gf: { depth: 22, w0: 216, wA: 55.59, wM: 2.1, groupWidth: 128 },
  regnet_x_32gf: { depth: 23, w0: 320, wA: 69.86, wM: 2.0, groupWidth: 168 },
});
