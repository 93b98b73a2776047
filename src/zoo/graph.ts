/**
 * A backbone as data: the operations of a torchvision classification network in execution order,
 * named exactly as torchvision's FX feature extraction names them. Shape inference, parameter
 * counting, state-dict naming, diagrams and the TensorFlow.js lowering all walk this one structure.
 */

export type Pair = readonly [number, number];

export type Activation = "relu" | "relu6" | "hardswish" | "hardsigmoid" | "silu" | "sigmoid" | "gelu";

export type Operation =
  | { readonly kind: "input" }
  | {
      readonly kind: "conv2d";
      readonly inChannels: number;
      readonly outChannels: number;
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly dilation: Pair;
      readonly groups: number;
      readonly bias: boolean;
    }
  /** `momentum` as PyTorch means it: the weight of each new batch statistic (Keras uses 1 − momentum). */
  | { readonly kind: "batch_norm"; readonly channels: number; readonly eps: number; readonly momentum: number }
  /**
   * Normalises the last dimension (channels-last tensors, as in ConvNeXt). As `nn.LayerNorm` its
   * weight and bias are in `state`; as `F.layer_norm` (ConvNeXt's LayerNorm2d) they are
   * `inputs[1]` and `inputs[2]`, `parameter` steps.
   */
  | { readonly kind: "layer_norm"; readonly channels: number; readonly eps: number }
  | { readonly kind: "activation"; readonly fn: Activation }
  | {
      readonly kind: "max_pool2d";
      readonly kernel: Pair;
      readonly stride: Pair;
      readonly padding: Pair;
      readonly dilation: Pair;
      readonly ceilMode: boolean;
    }
  | { readonly kind: "adaptive_avg_pool2d"; readonly output: Pair }
  /** `nn.AvgPool2d` with PyTorch's defaults: zero padding counts in the mean, floor rounding. */
  | { readonly kind: "avg_pool2d"; readonly kernel: Pair; readonly stride: Pair; readonly padding: Pair }
  /** `x.mean(dims)` without keepdim (MNASNet's global pooling). */
  | { readonly kind: "mean"; readonly dims: readonly number[] }
  | { readonly kind: "linear"; readonly inFeatures: number; readonly outFeatures: number; readonly bias: boolean }
  | { readonly kind: "add" }
  | { readonly kind: "mul" }
  /** `torch.cat(inputs, dim)`: every input has the same shape but along `dim`. */
  | { readonly kind: "concat"; readonly dim: number }
  | { readonly kind: "flatten"; readonly startDim: number }
  | { readonly kind: "permute"; readonly dims: readonly number[] }
  /** Dropout, StochasticDepth and Identity: no-ops in eval mode. */
  | { readonly kind: "identity"; readonly module: string }
  /** The weights of a module that runs only in training mode (`GraphBuilder.trainingOnly`); no step reads it. */
  | { readonly kind: "training_only"; readonly module: string }
  /** A parameter read as a value (FX `get_attr`), e.g. ConvNeXt's `layer_scale`. */
  | { readonly kind: "parameter"; readonly shape: readonly number[] }
  /**
   * A buffer that is a function of the architecture (Swin's `relative_position_index`), with its
   * values in torch's row-major order: a state-dict entry that never trains.
   */
  | { readonly kind: "buffer"; readonly shape: readonly number[]; readonly dtype: "int32" | "float32"; readonly values: readonly number[] }
  /**
   * The state-dict entries of a module in torch's registration order, where its steps read them in
   * another (Swin's blocks): it fixes the state dict's order, and no step reads it.
   */
  | { readonly kind: "module_state"; readonly module: string }
  /** `x.view(shape)` (-1 once at most): torch's element order. */
  | { readonly kind: "reshape"; readonly shape: readonly number[] }
  /** `factor * x` for a constant (Swin v2's `16 * sigmoid(bias)`). */
  | { readonly kind: "scale"; readonly factor: number }
  /**
   * Swin's `_get_relative_position_bias(table, index, window)`: rows of the table [(2h−1)(2w−1), heads]
   * gathered by `inputs[1]`, the index buffer, as a [1, heads, h·w, h·w] bias.
   */
  | { readonly kind: "relative_position_bias"; readonly window: Pair; readonly heads: number }
  /**
   * Swin's `_patch_merging_pad` on a channels-last [N, H, W, C] map: pads H and W to even, then
   * concatenates the four 2×2 neighbours' channels, [N, ⌈H/2⌉, ⌈W/2⌉, 4C].
   */
  | { readonly kind: "patch_merging_pad" }
  /**
   * torchvision's `shifted_window_attention` on a channels-last [N, H, W, C] map. Inputs: the map,
   * `qkv.weight`, `proj.weight` (torch's [out, in]), the relative position bias, `qkv.bias`,
   * `proj.bias`, and with `cosine` (Swin v2) `logit_scale`.
   */
  | {
      readonly kind: "shifted_window_attention";
      readonly window: Pair;
      readonly shift: Pair;
      readonly heads: number;
      readonly cosine: boolean;
    };

export type OperationKind = Operation["kind"];

/** One entry of torchvision's `state_dict()`: parameters train, buffers (BN statistics) do not. */
export interface StateEntry {
  readonly key: string;
  readonly shape: readonly number[];
  readonly role: "weight" | "bias" | "running_mean" | "running_var" | "num_batches_tracked" | "parameter" | "buffer";
  readonly trainable: boolean;
}

export interface GraphNode {
  /**
   * torchvision's node name (`layer3.5.relu_2`, `features.6.add`) when `visible`; steps inside
   * torchvision's leaf modules (Conv2dNormActivation, SqueezeExcitation, …) are not nodes there,
   * so they are hidden and carry an internal name instead.
   */
  readonly name: string;
  readonly visible: boolean;
  readonly op: Operation;
  readonly inputs: readonly string[];
  /** The state-dict entries this step reads (weights are named by the module that owns them). */
  readonly state: readonly StateEntry[];
}

export interface BackboneGraph {
  readonly name: string;
  /** All steps in execution order (topological). */
  readonly nodes: readonly GraphNode[];
  readonly output: string;
}

/** Names a user can tap: torchvision's node names, in execution order. */
export function nodeNames(graph: BackboneGraph): string[] {
  return graph.nodes.filter((n) => n.visible).map((n) => n.name);
}

/**
 * Resolves a tap the way `create_feature_extractor` does: a node name is itself; a module path
 * (`layer3`) is the last node, in execution order, inside that module (`layer3.5.relu_2`).
 */
export function resolveTap(graph: BackboneGraph, path: string): GraphNode | undefined {
  let found: GraphNode | undefined;
  for (const node of graph.nodes) {
    if (!node.visible) continue;
    if (node.name === path) return node;
    if (node.name.startsWith(path + ".")) found = node;
  }
  return found;
}

/** Every module path `resolveTap` accepts that is not itself a node (`layer3`, `features.6`). */
export function modulePaths(graph: BackboneGraph): string[] {
  const nodes = new Set(nodeNames(graph));
  const paths = new Set<string>();
  for (const name of nodes) {
    const parts = name.split(".");
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join(".");
      if (!nodes.has(prefix)) paths.add(prefix);
    }
  }
  return [...paths];
}

/** The nodes a set of outputs depends on: what `create_feature_extractor` keeps. */
export function ancestors(graph: BackboneGraph, outputs: readonly string[]): GraphNode[] {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const needed = new Set<string>();
  const stack = [...outputs];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    needed.add(name);
    stack.push(...(byName.get(name)?.inputs ?? []));
  }
  return graph.nodes.filter((n) => needed.has(n.name));
}

/** All state-dict entries read by the given nodes, each once, in first-use order. */
export function stateEntries(nodes: readonly GraphNode[]): StateEntry[] {
  const seen = new Map<string, StateEntry>();
  for (const node of nodes) for (const entry of node.state) if (!seen.has(entry.key)) seen.set(entry.key, entry);
  return [...seen.values()];
}

export function countParameters(nodes: readonly GraphNode[]): number {
  return stateEntries(nodes)
    .filter((e) => e.trainable)
    .reduce((sum, e) => sum + e.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The eps the network's batch norms have as torchvision builds it: PyTorch's 1e-5, but 1e-3 for
 * MobileNetV3, EfficientNet B5–B7 and V2 (their `partial(nn.BatchNorm2d, eps=…)`) and GoogLeNet and
 * Inception v3 (`BasicConv2d`). Undefined for a network without batch norm (vgg16, convnext).
 */
export function ownBatchNormEps(graph: BackboneGraph): number | undefined {
  const norm = graph.nodes.find((node) => node.op.kind === "batch_norm");
  return norm?.op.kind === "batch_norm" ? norm.op.eps : undefined;
}
