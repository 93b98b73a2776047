/** torchvision `models/convnext.py`: ConvNeXt. */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph } from "../graph.js";
import {
  activation,
  adaptiveAvgPool2d,
  add,
  conv2d,
  conv2dNormActivation,
  identity,
  layerNorm,
  linear,
  mul,
  permute,
  permuteModule,
} from "../layers.js";

/** Both `LayerNorm2d` (stem, downsampling, classifier) and the blocks' `nn.LayerNorm` use eps 1e-6. */
const NORM_EPS = 1e-6;

interface CNBlockConfig {
  inputChannels: number;
  /** Width after the downsampling layer that follows the stage; `null` for the last stage. */
  outChannels: number | null;
  numLayers: number;
}

/**
 * `LayerNorm2d`: normalises the channels of an NCHW map by going channels-last. Its forward calls
 * `F.layer_norm` with its own weight and bias, which FX records as `get_attr` nodes.
 */
function layerNorm2d(g: GraphBuilder, path: string, x: Value, channels: number): Value {
  const channelsLast = permute(g, path, x, [0, 2, 3, 1]);
  const weight = g.parameter(path, `${path}.weight`, [channels]);
  const bias = g.parameter(path, `${path}.bias`, [channels]);
  const normed = g.call(path, "layer_norm", { kind: "layer_norm", channels, eps: NORM_EPS }, [channelsLast, weight, bias]);
  return permute(g, path, normed, [0, 3, 1, 2]);
}

/**
 * `CNBlock`: depthwise 7×7 → channels-last LayerNorm → MLP (4× GELU) → back to NCHW, scaled by
 * `layer_scale` (read before the block runs, so its node comes first), plus the input.
 * Stochastic depth is a no-op in eval mode.
 */
function cnBlock(g: GraphBuilder, path: string, input: Value, dim: number): Value {
  const layerScale = g.parameter(path, `${path}.layer_scale`, [dim, 1, 1]);
  const block = `${path}.block`;
  let y = conv2d(g, `${block}.0`, input, { in: dim, out: dim, kernel: 7, padding: 3, groups: dim });
  y = permuteModule(g, `${block}.1`, y, [0, 2, 3, 1]);
  y = layerNorm(g, `${block}.2`, y, dim, NORM_EPS);
  y = linear(g, `${block}.3`, y, dim, 4 * dim);
  y = activation(g, `${block}.4`, y, "gelu");
  y = linear(g, `${block}.5`, y, 4 * dim, dim);
  y = permuteModule(g, `${block}.6`, y, [0, 3, 1, 2]);
  let result = mul(g, path, layerScale, y);
  result = identity(g, `${path}.stochastic_depth`, result);
  return add(g, path, result, input);
}

function convnext(name: string, blockSetting: readonly CNBlockConfig[]): BackboneGraph {
  const g = new GraphBuilder(name);
  let x = g.input();
  // Patchify stem: 4×4 conv with stride 4, then LayerNorm2d.
  const firstChannels = blockSetting[0]!.inputChannels;
  x = conv2dNormActivation(g, "features.0", x, {
    in: 3,
    out: firstChannels,
    kernel: 4,
    stride: 4,
    padding: 0,
    norm: layerNorm2d,
    activation: null,
    bias: true,
  });
  let index = 1;
  for (const cnf of blockSetting) {
    for (let i = 0; i < cnf.numLayers; i++) x = cnBlock(g, `features.${index}.${i}`, x, cnf.inputChannels);
    index++;
    if (cnf.outChannels !== null) {
      x = layerNorm2d(g, `features.${index}.0`, x, cnf.inputChannels);
      x = conv2d(g, `features.${index}.1`, x, { in: cnf.inputChannels, out: cnf.outChannels, kernel: 2, stride: 2 });
      index++;
    }
  }
  const last = blockSetting[blockSetting.length - 1]!;
  const lastChannels = last.outChannels ?? last.inputChannels;
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = layerNorm2d(g, "classifier.0", x, lastChannels);
  x = g.module("classifier.1", { kind: "flatten", startDim: 1 }, [x]); // nn.Flatten(1)
  x = linear(g, "classifier.2", x, lastChannels, 1000);
  return g.finish(x);
}

/** torchvision's four `CNBlockConfig`s from the stage widths and depths. */
const blockSetting = (widths: readonly number[], depths: readonly number[]): CNBlockConfig[] =>
  depths.map((numLayers, k) => ({ inputChannels: widths[k]!, outChannels: widths[k + 1] ?? null, numLayers }));

export const convnextNetworks = variants(convnext, {
  convnext_tiny: blockSetting([96, 192, 384, 768], [3, 3, 9, 3]),
  convnext_small: blockSetting([96, 192, 384, 768], [3, 3, 27, 3]),
  convnext_base: blockSetting([128, 256, 512, 1024], [3, 3, 27, 3]),
  convnext_large: blockSetting([192, 384, 768, 1536], [3, 3, 27, 3]),
});
