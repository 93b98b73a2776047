/**
 * torch.nn and torchvision.ops building blocks, written once with torchvision's defaults and
 * state-dict names. Network descriptions compose these exactly as torchvision's model code does.
 */
import type { GraphBuilder, Value } from "./builder.js";
import type { Activation, Pair, StateEntry } from "./graph.js";

const pair = (v: number | Pair): Pair => (typeof v === "number" ? [v, v] : v);

/**
 * torchvision's `_make_divisible` (from the TF MobileNet code): rounds a channel count to a
 * multiple of `divisor`, never below `minValue` nor more than 10% below `v`.
 */
export function makeDivisible(v: number, divisor: number, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor(Math.floor(v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

function trainable(key: string, shape: readonly number[], role: "weight" | "bias"): StateEntry {
  return { key, shape, role, trainable: true };
}

export interface Conv2dOptions {
  in: number;
  out: number;
  kernel: number | Pair;
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  groups?: number;
  bias?: boolean;
}

/** `nn.Conv2d` (bias on by default, as in PyTorch). */
export function conv2d(g: GraphBuilder, path: string, x: Value, o: Conv2dOptions): Value {
  const kernel = pair(o.kernel);
  const groups = o.groups ?? 1;
  const bias = o.bias ?? true;
  const state = [trainable(`${path}.weight`, [o.out, o.in / groups, kernel[0], kernel[1]], "weight")];
  if (bias) state.push(trainable(`${path}.bias`, [o.out], "bias"));
  const op = {
    kind: "conv2d",
    inChannels: o.in,
    outChannels: o.out,
    kernel,
    stride: pair(o.stride ?? 1),
    padding: pair(o.padding ?? 0),
    dilation: pair(o.dilation ?? 1),
    groups,
    bias,
  } as const;
  return g.module(path, op, [x], state);
}

/** `nn.BatchNorm2d` with its running statistics (buffers) and `num_batches_tracked`. */
export function batchNorm2d(g: GraphBuilder, path: string, x: Value, channels: number, eps = 1e-5, momentum = 0.1): Value {
  const state: StateEntry[] = [
    trainable(`${path}.weight`, [channels], "weight"),
    trainable(`${path}.bias`, [channels], "bias"),
    { key: `${path}.running_mean`, shape: [channels], role: "running_mean", trainable: false },
    { key: `${path}.running_var`, shape: [channels], role: "running_var", trainable: false },
    { key: `${path}.num_batches_tracked`, shape: [], role: "num_batches_tracked", trainable: false },
  ];
  return g.module(path, { kind: "batch_norm", channels, eps, momentum }, [x], state);
}

/** `nn.LayerNorm(channels)` over the last dimension (channels-last input). */
export function layerNorm(g: GraphBuilder, path: string, x: Value, channels: number, eps = 1e-5): Value {
  const state = [trainable(`${path}.weight`, [channels], "weight"), trainable(`${path}.bias`, [channels], "bias")];
  return g.module(path, { kind: "layer_norm", channels, eps }, [x], state);
}

/** An activation module (`nn.ReLU`, `nn.Hardswish`, …) called at `path`. */
export function activation(g: GraphBuilder, path: string, x: Value, fn: Activation): Value {
  return g.module(path, { kind: "activation", fn }, [x]);
}

export interface MaxPoolOptions {
  kernel: number | Pair;
  stride?: number | Pair;
  padding?: number | Pair;
  dilation?: number | Pair;
  ceilMode?: boolean;
}

/** `nn.MaxPool2d` (stride defaults to the kernel size, as in PyTorch); `F.max_pool2d` when `call`. */
export function maxPool2d(g: GraphBuilder, path: string, x: Value, o: MaxPoolOptions, call = false): Value {
  const op = {
    kind: "max_pool2d",
    kernel: pair(o.kernel),
    stride: pair(o.stride ?? o.kernel),
    padding: pair(o.padding ?? 0),
    dilation: pair(o.dilation ?? 1),
    ceilMode: o.ceilMode ?? false,
  } as const;
  return call ? g.call(path, "max_pool2d", op, [x]) : g.module(path, op, [x]);
}

/** `nn.AvgPool2d(kernel, stride, padding)` (stride defaults to the kernel size); `F.avg_pool2d` when `call`. */
export function avgPool2d(
  g: GraphBuilder,
  path: string,
  x: Value,
  o: { kernel: number; stride?: number; padding?: number },
  call = false,
): Value {
  const op = { kind: "avg_pool2d", kernel: pair(o.kernel), stride: pair(o.stride ?? o.kernel), padding: pair(o.padding ?? 0) } as const;
  return call ? g.call(path, "avg_pool2d", op, [x]) : g.module(path, op, [x]);
}

export function adaptiveAvgPool2d(g: GraphBuilder, path: string, x: Value, output: number | Pair): Value {
  return g.module(path, { kind: "adaptive_avg_pool2d", output: pair(output) }, [x]);
}

/** `nn.functional.adaptive_avg_pool2d` called in the forward of the module at `scope`. */
export function adaptiveAvgPool2dCall(g: GraphBuilder, scope: string, x: Value, output: number | Pair): Value {
  return g.call(scope, "adaptive_avg_pool2d", { kind: "adaptive_avg_pool2d", output: pair(output) }, [x]);
}

export function linear(g: GraphBuilder, path: string, x: Value, inFeatures: number, outFeatures: number, bias = true): Value {
  const state = [trainable(`${path}.weight`, [outFeatures, inFeatures], "weight")];
  if (bias) state.push(trainable(`${path}.bias`, [outFeatures], "bias"));
  return g.module(path, { kind: "linear", inFeatures, outFeatures, bias }, [x], state);
}

/** `nn.Dropout`, `nn.Identity`, `StochasticDepth` (called as modules; no-ops in eval mode). */
export function identity(g: GraphBuilder, path: string, x: Value): Value {
  return g.module(path, { kind: "identity", module: path }, [x]);
}

/** `torch.flatten(x, startDim)` called in the forward of the module at `scope`. */
export function flatten(g: GraphBuilder, scope: string, x: Value, startDim = 1): Value {
  return g.call(scope, "flatten", { kind: "flatten", startDim }, [x]);
}

/** `x.mean(dims)` called in the forward of the module at `scope`. */
export function mean(g: GraphBuilder, scope: string, x: Value, dims: readonly number[]): Value {
  return g.call(scope, "mean", { kind: "mean", dims }, [x]);
}

/** `F.relu(x)` called in the forward of the module at `scope`. */
export function reluCall(g: GraphBuilder, scope: string, x: Value): Value {
  return g.call(scope, "relu", { kind: "activation", fn: "relu" }, [x]);
}

export function add(g: GraphBuilder, scope: string, a: Value, b: Value): Value {
  return g.call(scope, "add", { kind: "add" }, [a, b]);
}

export function mul(g: GraphBuilder, scope: string, a: Value, b: Value): Value {
  return g.call(scope, "mul", { kind: "mul" }, [a, b]);
}

/** `torch.cat(inputs, dim)` called in the forward of the module at `scope`. */
export function cat(g: GraphBuilder, scope: string, inputs: readonly Value[], dim = 1): Value {
  return g.call(scope, "cat", { kind: "concat", dim }, inputs);
}

/** `x.permute(dims)` / `torch.permute(x, dims)` called in the forward of the module at `scope`. */
export function permute(g: GraphBuilder, scope: string, x: Value, dims: readonly number[]): Value {
  return g.call(scope, "permute", { kind: "permute", dims }, [x]);
}

/** torchvision's `Permute` module (a leaf for feature extraction). */
export function permuteModule(g: GraphBuilder, path: string, x: Value, dims: readonly number[]): Value {
  return g.leaf(path, () => permute(g, path, x, dims));
}

/** A `norm_layer` as torchvision passes it: called as `norm_layer(channels)` at `path`. */
export type NormLayer = (g: GraphBuilder, path: string, x: Value, channels: number) => Value;

export interface ConvNormActivationOptions extends Conv2dOptions {
  /** Defaults to "same" padding, `(k - 1) / 2 * dilation`. */
  padding?: number | Pair;
  /** Defaults to a bias only when there is no norm layer, as torchvision does. */
  bias?: boolean;
  /** BatchNorm (the default, with `eps` and `momentum`), another norm layer, or `null` for none. */
  norm?: "batch_norm" | NormLayer | null;
  activation?: Activation | null;
  eps?: number;
  momentum?: number;
}

/**
 * torchvision's `Conv2dNormActivation` (a leaf for feature extraction): conv (`.0`), optional
 * norm layer (`.1`), optional activation.
 */
export function conv2dNormActivation(g: GraphBuilder, path: string, x: Value, o: ConvNormActivationOptions): Value {
  const kernel = pair(o.kernel);
  const dilation = pair(o.dilation ?? 1);
  const padding: number | Pair = o.padding ?? [((kernel[0] - 1) / 2) * dilation[0], ((kernel[1] - 1) / 2) * dilation[1]];
  const norm = o.norm === undefined ? "batch_norm" : o.norm;
  const act = o.activation === undefined ? "relu" : o.activation;
  return g.leaf(path, () => {
    let y = conv2d(g, `${path}.0`, x, { ...o, padding, bias: o.bias ?? norm === null });
    let index = 1;
    if (norm === "batch_norm") y = batchNorm2d(g, `${path}.${index++}`, y, o.out, o.eps, o.momentum);
    else if (norm !== null) y = norm(g, `${path}.${index++}`, y, o.out);
    if (act !== null) y = activation(g, `${path}.${index}`, y, act);
    return y;
  });
}

export interface SqueezeExcitationOptions {
  in: number;
  squeeze: number;
  activation?: Activation;
  scaleActivation?: Activation;
}

/** torchvision's `SqueezeExcitation` (a leaf): avgpool → fc1 → act → fc2 → scale act → × input. */
export function squeezeExcitation(g: GraphBuilder, path: string, x: Value, o: SqueezeExcitationOptions): Value {
  return g.leaf(path, () => {
    let s = adaptiveAvgPool2d(g, `${path}.avgpool`, x, 1);
    s = conv2d(g, `${path}.fc1`, s, { in: o.in, out: o.squeeze, kernel: 1 });
    s = activation(g, `${path}.activation`, s, o.activation ?? "relu");
    s = conv2d(g, `${path}.fc2`, s, { in: o.squeeze, out: o.in, kernel: 1 });
    s = activation(g, `${path}.scale_activation`, s, o.scaleActivation ?? "sigmoid");
    return mul(g, path, s, x);
  });
}

/**
 * `BasicConv2d` of GoogLeNet and Inception v3: conv without bias, BatchNorm with eps 0.001, then
 * `F.relu` (a node named `<path>.relu`).
 */
export function basicConv2d(g: GraphBuilder, path: string, x: Value, o: Omit<Conv2dOptions, "bias">): Value {
  const y = conv2d(g, `${path}.conv`, x, { ...o, bias: false });
  return reluCall(g, path, batchNorm2d(g, `${path}.bn`, y, o.out, 1e-3));
}
