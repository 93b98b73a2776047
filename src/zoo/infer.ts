/**
 * Shape inference without tensors: the output shape of every step at a given input size, plus the
 * two numbers a detector needs from a feature map besides its channels: its stride (how many input
 * pixels one step on the map covers) and its receptive field.
 */
import type { BackboneGraph, GraphNode, Operation, Pair } from "./graph.js";

export interface NodeType {
  /** Output shape with the batch dimension (1), e.g. `[1, 1024, 50, 50]`. */
  readonly shape: readonly number[];
  /** Cumulative stride of a spatial map; `null` once space is pooled away or flattened. */
  readonly stride: number | null;
  /**
   * Receptive field in input pixels, vertically (kernels and strides are square in the zoo but for
   * Inception v3's 1×n/n×1 pairs, which grow both directions alike).
   */
  readonly receptiveField: number | null;
  /** ConvNeXt blocks permute to channels-last inside; only `nchw` steps are feature maps. */
  readonly layout: "nchw" | "nhwc" | "flat";
}

export class ShapeError extends Error {}

const windowOut = (size: number, kernel: number, stride: number, padding: number, dilation: number, ceil: boolean) => {
  const span = size + 2 * padding - dilation * (kernel - 1) - 1;
  let out = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  // PyTorch: with ceil_mode the last window must start inside the input or left padding.
  if (ceil && (out - 1) * stride >= size + padding) out -= 1;
  return out;
};

function spatial(
  node: GraphNode,
  input: NodeType,
  out: number,
  kernel: Pair,
  stride: Pair,
  padding: Pair,
  dilation: Pair,
  ceil: boolean,
): NodeType {
  const [n, , h, w] = input.shape as [number, number, number, number];
  const oh = windowOut(h, kernel[0], stride[0], padding[0], dilation[0], ceil);
  const ow = windowOut(w, kernel[1], stride[1], padding[1], dilation[1], ceil);
  if (oh < 1 || ow < 1) throw new ShapeError(`${node.name}: input ${h}×${w} is too small (output ${oh}×${ow})`);
  const jump = input.stride;
  return {
    layout: "nchw",
    shape: [n, out, oh, ow],
    stride: jump === null ? null : jump * stride[0],
    receptiveField:
      input.receptiveField === null || jump === null ? null : input.receptiveField + (kernel[0] - 1) * dilation[0] * jump,
  };
}

function broadcast(node: GraphNode, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new ShapeError(`${node.name}: cannot broadcast [${a}] with [${b}]`);
    out.push(Math.max(x, y));
  }
  return out;
}

function permutedLayout(layout: NodeType["layout"], dims: readonly number[]): NodeType["layout"] {
  const order = dims.join(",");
  if (layout === "nchw" && order === "0,2,3,1") return "nhwc";
  if (layout === "nhwc" && order === "0,3,1,2") return "nchw";
  return "flat";
}

function inferNode(node: GraphNode, inputs: NodeType[], image: Pair): NodeType {
  const op: Operation = node.op;
  const x = inputs[0]!;
  switch (op.kind) {
    case "input":
      return { shape: [1, 3, image[0], image[1]], stride: 1, receptiveField: 1, layout: "nchw" };
    case "conv2d":
      if (x.shape[1] !== op.inChannels)
        throw new ShapeError(`${node.name}: expects ${op.inChannels} channels, got ${x.shape[1]}`);
      return spatial(node, x, op.outChannels, op.kernel, op.stride, op.padding, op.dilation, false);
    case "max_pool2d":
      return spatial(node, x, x.shape[1]!, op.kernel, op.stride, op.padding, op.dilation, op.ceilMode);
    case "avg_pool2d":
      return spatial(node, x, x.shape[1]!, op.kernel, op.stride, op.padding, [1, 1], false);
    case "mean": {
      const dims = new Set(op.dims.map((d) => (d < 0 ? x.shape.length + d : d)));
      return { shape: x.shape.filter((_, i) => !dims.has(i)), stride: null, receptiveField: null, layout: "flat" };
    }
    case "adaptive_avg_pool2d":
      return {
        shape: [x.shape[0]!, x.shape[1]!, op.output[0], op.output[1]],
        stride: null,
        receptiveField: null,
        layout: "nchw",
      };
    case "batch_norm":
    case "activation":
    case "identity":
      return x;
    case "layer_norm":
      if (x.shape[x.shape.length - 1] !== op.channels)
        throw new ShapeError(`${node.name}: normalises ${op.channels} features, got [${x.shape}]`);
      return x;
    case "linear": {
      const last = x.shape[x.shape.length - 1];
      if (last !== op.inFeatures) throw new ShapeError(`${node.name}: expects ${op.inFeatures} features, got ${last}`);
      return { ...x, shape: [...x.shape.slice(0, -1), op.outFeatures] };
    }
    case "add":
    case "mul": {
      const y = inputs[1]!;
      const strides = [x.stride, y.stride].filter((s): s is number => s !== null);
      const fields = [x.receptiveField, y.receptiveField].filter((s): s is number => s !== null);
      return {
        layout: x.shape.length >= y.shape.length ? x.layout : y.layout,
        shape: broadcast(node, x.shape, y.shape),
        stride: strides.length > 0 ? Math.max(...strides) : null,
        receptiveField: fields.length > 0 ? Math.max(...fields) : null,
      };
    }
    case "concat": {
      const dim = op.dim < 0 ? x.shape.length + op.dim : op.dim;
      for (const other of inputs)
        if (other.shape.length !== x.shape.length || other.shape.some((d, i) => i !== dim && d !== x.shape[i]))
          throw new ShapeError(`${node.name}: cannot concatenate [${x.shape}] with [${other.shape}] along dimension ${dim}`);
      const strides = inputs.map((i) => i.stride).filter((s): s is number => s !== null);
      const fields = inputs.map((i) => i.receptiveField).filter((s): s is number => s !== null);
      return {
        layout: x.layout,
        shape: x.shape.map((d, i) => (i === dim ? inputs.reduce((sum, input) => sum + input.shape[i]!, 0) : d)),
        stride: strides.length === inputs.length ? Math.max(...strides) : null,
        receptiveField: fields.length === inputs.length ? Math.max(...fields) : null,
      };
    }
    case "flatten": {
      const kept = x.shape.slice(0, op.startDim);
      const folded = x.shape.slice(op.startDim).reduce((a, b) => a * b, 1);
      return { shape: [...kept, folded], stride: null, receptiveField: null, layout: "flat" };
    }
    case "permute":
      return { ...x, shape: op.dims.map((d) => x.shape[d]!), layout: permutedLayout(x.layout, op.dims) };
    case "parameter":
    case "buffer":
      return { shape: op.shape, stride: null, receptiveField: null, layout: "flat" };
    case "training_only":
    case "module_state":
      return { shape: [], stride: null, receptiveField: null, layout: "flat" };
    case "reshape":
      return { shape: reshaped(node, x.shape, op.shape), stride: null, receptiveField: null, layout: "flat" };
    case "scale":
      return x;
    case "relative_position_bias": {
      const pairs = op.window[0] * op.window[1];
      return { shape: [1, op.heads, pairs, pairs], stride: null, receptiveField: null, layout: "flat" };
    }
    case "patch_merging_pad": {
      const [n, h, w, c] = channelsLast(node, x);
      const jump = x.stride;
      return {
        ...x,
        shape: [n, Math.ceil(h / 2), Math.ceil(w / 2), 4 * c],
        stride: jump === null ? null : jump * 2,
        receptiveField: x.receptiveField === null || jump === null ? null : x.receptiveField + jump,
      };
    }
    case "shifted_window_attention": {
      const [, , , c] = channelsLast(node, x);
      if (c % op.heads !== 0) throw new ShapeError(`${node.name}: ${c} channels do not split into ${op.heads} heads`);
      // A position attends to its window (shifted or not): the window is its kernel.
      const jump = x.stride;
      return {
        ...x,
        receptiveField: x.receptiveField === null || jump === null ? null : x.receptiveField + (op.window[0] - 1) * jump,
      };
    }
  }
}

/** A channels-last [N, H, W, C] map's dimensions (Swin's stages). */
function channelsLast(node: GraphNode, x: NodeType): [number, number, number, number] {
  if (x.layout !== "nhwc" || x.shape.length !== 4) throw new ShapeError(`${node.name}: expects a channels-last map, got [${x.shape}]`);
  return x.shape as [number, number, number, number];
}

/** `view(shape)`: one -1 takes what the other dimensions leave. */
function reshaped(node: GraphNode, from: readonly number[], to: readonly number[]): number[] {
  const count = from.reduce((a, b) => a * b, 1);
  const known = to.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const shape = to.map((d) => (d === -1 ? count / known : d));
  if (!Number.isInteger(count / known) || shape.reduce((a, b) => a * b, 1) !== count)
    throw new ShapeError(`${node.name}: cannot view [${from}] as [${to}]`);
  return shape;
}

/**
 * A 4-D map's channels and size: torchvision's NCHW maps, and channels-last [N, H, W, C] ones
 * (Swin's stages, ConvNeXt's blocks), which a tap hands on as NCHW maps. Undefined for anything
 * else (flattened, a weight); a feature map also has a stride (`featureMap`).
 */
export function mapShape(type: NodeType): { channels: number; height: number; width: number } | undefined {
  if (type.shape.length !== 4) return undefined;
  const [, a, b, c] = type.shape as [number, number, number, number];
  if (type.layout === "nchw") return { channels: a, height: b, width: c };
  if (type.layout === "nhwc") return { channels: c, height: a, width: b };
  return undefined;
}

/** The type of every step of `graph` for an input image of `image` = [height, width]. */
export function inferTypes(graph: BackboneGraph, image: Pair): Map<string, NodeType> {
  const types = new Map<string, NodeType>();
  for (const node of graph.nodes) {
    const inputs = node.inputs.map((name) => types.get(name)!);
    types.set(node.name, inferNode(node, inputs, image));
  }
  return types;
}

/** A map with a stride (not pooled away): what a tap can be. */
export const featureMap = (type: NodeType) => (type.stride === null ? undefined : mapShape(type));
