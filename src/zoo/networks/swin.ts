/**
 * torchvision `models/swin_transformer.py`: Swin Transformer and Swin Transformer V2.
 *
 * After the patch embedding every stage is channels-last, [N, H, W, C], as torchvision computes
 * it; its nodes are feature maps all the same (a tap hands them on as NCHW maps, as torchvision's
 * detection users permute them). `shifted_window_attention`, `_get_relative_position_bias` and
 * `_patch_merging_pad` are wrapped functions for FX (`torch.fx.wrap`): one node each, whose
 * weights are `get_attr` nodes read just before.
 */
import { GraphBuilder, variants, type Value } from "../builder.js";
import type { BackboneGraph, Pair } from "../graph.js";
import { activation, adaptiveAvgPool2d, add, conv2d, identity, layerNorm, linear, permuteModule } from "../layers.js";

interface SwinConfig {
  readonly embedDim: number;
  readonly depths: readonly number[];
  readonly heads: readonly number[];
  readonly window: number;
  readonly v2: boolean;
}

/** `relative_position_index`: for each pair of positions in a window, its row of the bias table. */
function relativePositionIndex([h, w]: Pair): number[] {
  const index: number[] = [];
  for (let a = 0; a < h * w; a++)
    for (let b = 0; b < h * w; b++) {
      const dy = Math.floor(a / w) - Math.floor(b / w) + h - 1;
      const dx = (a % w) - (b % w) + w - 1;
      index.push(dy * (2 * w - 1) + dx);
    }
  return index;
}

/** V2's `relative_coords_table` [1, 2h−1, 2w−1, 2]: offsets scaled to ±8, then sign·log2(1 + |x|)/3. */
function relativeCoordsTable([h, w]: Pair): number[] {
  const logSpaced = (offset: number, extent: number) => {
    const scaled = Math.fround(Math.fround(offset / (extent - 1)) * 8);
    return Math.fround(Math.fround(Math.sign(scaled) * Math.fround(Math.log2(Math.abs(scaled) + 1))) / 3);
  };
  const table: number[] = [];
  for (let dy = -(h - 1); dy < h; dy++) for (let dx = -(w - 1); dx < w; dx++) table.push(logSpaced(dy, h), logSpaced(dx, w));
  return table;
}

/** The attention's position bias: v1's learned table, v2's MLP over log-spaced coordinates (`16·sigmoid`). */
function positionBias(g: GraphBuilder, attn: string, window: Pair, heads: number, v2: boolean): Value {
  const positions = (2 * window[0] - 1) * (2 * window[1] - 1);
  const pairs = window[0] * window[1];
  let table: Value;
  if (v2) {
    const shape = [1, 2 * window[0] - 1, 2 * window[1] - 1, 2];
    const coords = g.buffer(attn, `${attn}.relative_coords_table`, { kind: "buffer", shape, dtype: "float32", values: relativeCoordsTable(window) });
    let hidden = linear(g, `${attn}.cpb_mlp.0`, coords, 2, 512);
    hidden = activation(g, `${attn}.cpb_mlp.1`, hidden, "relu");
    hidden = linear(g, `${attn}.cpb_mlp.2`, hidden, 512, heads, false);
    table = g.call(attn, "view", { kind: "reshape", shape: [-1, heads] }, [hidden]);
  } else {
    table = g.parameter(attn, `${attn}.relative_position_bias_table`, [positions, heads]);
  }
  const index = g.buffer(attn, `${attn}.relative_position_index`, {
    kind: "buffer",
    shape: [pairs * pairs],
    dtype: "int32",
    values: relativePositionIndex(window),
  });
  const bias = g.call(attn, "_get_relative_position_bias", { kind: "relative_position_bias", window, heads }, [table, index]);
  if (!v2) return bias;
  const squashed = g.call(attn, "sigmoid", { kind: "activation", fn: "sigmoid" }, [bias]);
  return g.call(attn, "mul", { kind: "scale", factor: 16 }, [squashed]);
}

/** `ShiftedWindowAttention(V2)`: its weights are read as `get_attr` nodes by the wrapped function. */
function attention(g: GraphBuilder, attn: string, x: Value, dim: number, heads: number, window: Pair, shift: Pair, v2: boolean): Value {
  const bias = positionBias(g, attn, window, heads, v2);
  const qkvWeight = g.parameter(attn, `${attn}.qkv.weight`, [3 * dim, dim]);
  const projWeight = g.parameter(attn, `${attn}.proj.weight`, [dim, dim]);
  const qkvBias = g.parameter(attn, `${attn}.qkv.bias`, [3 * dim]);
  const projBias = g.parameter(attn, `${attn}.proj.bias`, [dim]);
  const logitScale = v2 ? [g.parameter(attn, `${attn}.logit_scale`, [heads, 1, 1])] : [];
  const op = { kind: "shifted_window_attention", window, shift, heads, cosine: v2 } as const;
  return g.call(attn, "shifted_window_attention", op, [x, qkvWeight, projWeight, bias, qkvBias, projBias, ...logitScale]);
}

/** torchvision's `MLP` (a leaf): Linear → GELU → Dropout → Linear → Dropout. */
function mlp(g: GraphBuilder, path: string, x: Value, dim: number): Value {
  return g.leaf(path, () => {
    let y = linear(g, `${path}.0`, x, dim, 4 * dim);
    y = activation(g, `${path}.1`, y, "gelu");
    y = identity(g, `${path}.2`, y);
    y = linear(g, `${path}.3`, y, 4 * dim, dim);
    return identity(g, `${path}.4`, y);
  });
}

/**
 * `SwinTransformerBlock`: x + attn(norm1(x)), then x + mlp(norm2(x)). V2 normalises after each
 * branch instead (res-post-norm): x + norm1(attn(x)), x + norm2(mlp(x)). Stochastic depth is a
 * no-op in eval mode.
 */
function block(g: GraphBuilder, path: string, x: Value, dim: number, heads: number, window: Pair, shift: Pair, v2: boolean): Value {
  const mark = g.mark;
  const attn = `${path}.attn`;
  let branch = v2
    ? layerNorm(g, `${path}.norm1`, attention(g, attn, x, dim, heads, window, shift, v2), dim)
    : attention(g, attn, layerNorm(g, `${path}.norm1`, x, dim), dim, heads, window, shift, v2);
  x = add(g, path, x, identity(g, `${path}.stochastic_depth`, branch));
  branch = v2 ? layerNorm(g, `${path}.norm2`, mlp(g, `${path}.mlp`, x, dim), dim) : mlp(g, `${path}.mlp`, layerNorm(g, `${path}.norm2`, x, dim), dim);
  x = add(g, path, x, identity(g, `${path}.stochastic_depth`, branch));
  const attnState = v2
    ? ["attn.logit_scale", "attn.relative_coords_table", "attn.relative_position_index", "attn.qkv", "attn.proj", "attn.cpb_mlp"]
    : ["attn.relative_position_bias_table", "attn.relative_position_index", "attn.qkv", "attn.proj"];
  g.stateInOrder(path, mark, ["norm1", ...attnState, "norm2", "mlp"]);
  return x;
}

/** `PatchMerging(V2)`: 2×2 neighbours concatenated, then norm → reduction (v1) or reduction → norm (v2). */
function patchMerging(g: GraphBuilder, path: string, x: Value, dim: number, v2: boolean): Value {
  const mark = g.mark;
  const merged = g.call(path, "_patch_merging_pad", { kind: "patch_merging_pad" }, [x]);
  const y = v2
    ? layerNorm(g, `${path}.norm`, linear(g, `${path}.reduction`, merged, 4 * dim, 2 * dim, false), 2 * dim)
    : linear(g, `${path}.reduction`, layerNorm(g, `${path}.norm`, merged, 4 * dim), 4 * dim, 2 * dim, false);
  g.stateInOrder(path, mark, ["reduction", "norm"]);
  return y;
}

function swin(name: string, { embedDim, depths, heads, window, v2 }: SwinConfig): BackboneGraph {
  const g = new GraphBuilder(name);
  let x = g.input();
  // Patch embedding: 4×4 conv with stride 4, channels-last from here on, LayerNorm.
  x = conv2d(g, "features.0.0", x, { in: 3, out: embedDim, kernel: 4, stride: 4 });
  x = permuteModule(g, "features.0.1", x, [0, 2, 3, 1]);
  x = layerNorm(g, "features.0.2", x, embedDim);
  let index = 1;
  depths.forEach((depth, stage) => {
    const dim = embedDim * 2 ** stage;
    for (let i = 0; i < depth; i++) {
      const shift: Pair = i % 2 === 0 ? [0, 0] : [Math.floor(window / 2), Math.floor(window / 2)];
      x = block(g, `features.${index}.${i}`, x, dim, heads[stage]!, [window, window], shift, v2);
    }
    index++;
    if (stage < depths.length - 1) x = patchMerging(g, `features.${index++}`, x, dim, v2);
  });
  const features = embedDim * 2 ** (depths.length - 1);
  x = layerNorm(g, "norm", x, features);
  x = permuteModule(g, "permute", x, [0, 3, 1, 2]);
  x = adaptiveAvgPool2d(g, "avgpool", x, 1);
  x = g.module("flatten", { kind: "flatten", startDim: 1 }, [x]); // nn.Flatten(1)
  x = linear(g, "head", x, features, 1000);
  return g.finish(x);
}

export const swinNetworks = variants(swin, {
  swin_t: { embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 7, v2: false },
  swin_s: { embedDim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], window: 7, v2: false },
  swin_b: { embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 7, v2: false },
  swin_v2_t: { embedDim: 96, depths: [2, 2, 6, 2], heads: [3, 6, 12, 24], window: 8, v2: true },
  swin_v2_s: { embedDim: 96, depths: [2, 2, 18, 2], heads: [3, 6, 12, 24], window: 8, v2: true },
  swin_v2_b: { embedDim: 128, depths: [2, 2, 18, 2], heads: [4, 8, 16, 32], window: 8, v2: true },
});
