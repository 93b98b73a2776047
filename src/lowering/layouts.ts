/**
 * The one place that knows how our tensors are laid out differently from torchvision's.
 *
 * Activations: torchvision's NCHW feature maps are held channels-last (NHWC), because tfjs's conv
 * kernels are NHWC on cpu, wasm and tensorflow (see `logical-layout.ts`).
 *
 * Weights, by the step that reads them:
 * | state-dict entry                | torchvision              | ours                                 |
 * |---------------------------------|--------------------------|--------------------------------------|
 * | conv2d weight, groups = 1       | [out, in, kh, kw] (OIHW) | [kh, kw, in, out] (HWIO)             |
 * | conv2d weight, groups = g       | [out, in/g, kh, kw]      | [kh, kw, in/g, out] (TF's grouped)   |
 * | conv2d weight, depthwise (g=in) | [in·m, 1, kh, kw]        | [kh, kw, in, m] (tfjs depthwise)     |
 * | linear weight                   | [out, in]                | [in, out]                            |
 * | linear weight on flattened maps | [out, C·H·W]             | [H·W·C, out] (NHWC maps flatten so)  |
 * | biases, norm weights, running statistics, parameters (`layer_scale`): unchanged              |
 */
import * as tf from "@tensorflow/tfjs";
import type { BackboneGraph } from "../zoo/graph.js";

export type WeightLayout =
  | { readonly kind: "as_is" }
  | { readonly kind: "conv" }
  /** `multiplier` output channels per input channel. */
  | { readonly kind: "depthwise"; readonly multiplier: number }
  | { readonly kind: "linear" }
  /** A linear layer reading `[C, H, W]` maps flattened (the box head's fc6), rows permuted to H·W·C. */
  | { readonly kind: "flattened_maps_linear"; readonly channels: number; readonly height: number; readonly width: number };

/** Converts state-dict tensors between torchvision's layout and ours; unknown keys are an error. */
export interface WeightConverter {
  /** A torchvision tensor's values (e.g. from a `.pth`) in the layout our variable `key` holds (see {@link fromTorchLayout}). */
  fromTorchLayout(key: string, values: Float32Array, torchShape: readonly number[]): Float32Array;
  /** Our variable `key` (or its gradient) in torchvision's layout. */
  toTorchLayout(key: string, tensor: tf.Tensor): tf.Tensor;
  /** The shape `toTorchLayout` gives a tensor of our variable `key`'s shape, without computing it. */
  torchShape(key: string, shape: readonly number[]): number[];
}

/** A conv whose every group is one input channel: tfjs's depthwiseConv2d. */
export const isDepthwise = (op: { groups: number; inChannels: number }) => op.groups > 1 && op.groups === op.inChannels;

/** The layout of every state-dict entry of `graph`. */
export function weightLayouts(graph: BackboneGraph): Map<string, WeightLayout> {
  const layouts = new Map<string, WeightLayout>();
  for (const node of graph.nodes) {
    for (const entry of node.state) {
      let layout: WeightLayout = { kind: "as_is" };
      const op = node.op;
      if (entry.role === "weight" && op.kind === "conv2d")
        layout = isDepthwise(op) ? { kind: "depthwise", multiplier: op.outChannels / op.inChannels } : { kind: "conv" };
      if (entry.role === "weight" && op.kind === "linear") layout = { kind: "linear" };
      layouts.set(entry.key, layout);
    }
  }
  return layouts;
}

/** The shape our variable has for an entry torchvision shapes `torchShape`. */
export function shapeInOurLayout(layout: WeightLayout, torchShape: readonly number[]): number[] {
  const [out, inPerGroup, kh, kw] = torchShape as [number, number, number, number];
  switch (layout.kind) {
    case "as_is":
      return [...torchShape];
    case "conv":
      return [kh, kw, inPerGroup, out];
    case "depthwise":
      return [kh, kw, out / layout.multiplier, layout.multiplier];
    case "linear":
    case "flattened_maps_linear": {
      const [outFeatures, inFeatures] = torchShape as [number, number];
      return [inFeatures, outFeatures];
    }
  }
}

/** The shape torchvision gives an entry our variable shapes `shape`: {@link shapeInOurLayout}'s inverse. */
export function shapeInTorchLayout(layout: WeightLayout, shape: readonly number[]): number[] {
  const [kh, kw, inPerGroup, out] = shape as [number, number, number, number];
  switch (layout.kind) {
    case "as_is":
      return [...shape];
    case "conv":
      return [out, inPerGroup, kh, kw];
    case "depthwise":
      return [inPerGroup * out, 1, kh, kw];
    case "linear":
    case "flattened_maps_linear": {
      const [inFeatures, outFeatures] = shape as [number, number];
      return [outFeatures, inFeatures];
    }
  }
}

/**
 * A torchvision tensor's values (of `torchShape`) in our layout. Done on the host, straight from the
 * values read from a file: converting with engine ops held the file's values, their copy in the
 * engine and the converted copy at once (three times ResNet-50 C4's 205 MB fc6), and the engine's
 * allocator kept the two copies' room. Returns `values` itself where the layouts agree.
 */
export function fromTorchLayout(layout: WeightLayout, values: Float32Array, torchShape: readonly number[]): Float32Array {
  switch (layout.kind) {
    case "as_is":
      return values;
    case "conv":
    case "depthwise": // [in·m, 1, kh, kw] → [kh, kw, 1, in·m] is [kh, kw, in, m] as it lies
      return transposed(values, torchShape, [2, 3, 1, 0]);
    case "linear":
      return transposed(values, torchShape, [1, 0]);
    case "flattened_maps_linear": {
      const { channels, height, width } = layout;
      return transposed(values, [torchShape[0]!, channels, height, width], [2, 3, 1, 0]);
    }
  }
}

/** `values` of `shape` (rank ≤ 4) transposed by `permutation`, as `tf.transpose` would, into a new array. */
function transposed(values: Float32Array, shape: readonly number[], permutation: readonly number[]): Float32Array {
  // As four axes: leading extents of 1 added to both, so one loop nest serves every rank.
  const pad = 4 - shape.length;
  const extents = [...Array<number>(pad).fill(1), ...shape];
  const order = [...Array.from({ length: pad }, (_, i) => i), ...permutation.map((axis) => axis + pad)];
  const strides = [extents[1]! * extents[2]! * extents[3]!, extents[2]! * extents[3]!, extents[3]!, 1];
  const [e0, e1, e2, e3] = order.map((axis) => extents[axis]!) as [number, number, number, number];
  const [s0, s1, s2, s3] = order.map((axis) => strides[axis]!) as [number, number, number, number];
  const out = new Float32Array(values.length);
  let at = 0;
  for (let i0 = 0; i0 < e0; i0++)
    for (let i1 = 0; i1 < e1; i1++)
      for (let i2 = 0; i2 < e2; i2++) {
        const base = i0 * s0 + i1 * s1 + i2 * s2;
        for (let i3 = 0; i3 < e3; i3++) out[at++] = values[base + i3 * s3]!;
      }
  return out;
}

export function toTorchLayout(layout: WeightLayout, tensor: tf.Tensor): tf.Tensor {
  switch (layout.kind) {
    case "as_is":
      return tensor.clone();
    case "conv":
      return tf.transpose(tensor, [3, 2, 0, 1]);
    case "depthwise": {
      const [kh, kw, channels, multiplier] = tensor.shape as [number, number, number, number];
      return tf.tidy(() => tf.transpose(tensor.reshape([kh, kw, 1, channels * multiplier]), [3, 2, 0, 1]));
    }
    case "linear":
      return tf.transpose(tensor, [1, 0]);
    case "flattened_maps_linear": {
      const { channels, height, width } = layout;
      const out = tensor.shape[1]!;
      return tf.tidy(() => tf.transpose(tensor.reshape([height, width, channels, out]), [3, 2, 0, 1]).reshape([out, channels * height * width]));
    }
  }
}

export function weightConverter(graph: BackboneGraph): WeightConverter {
  const layouts = weightLayouts(graph);
  const layoutOf = (key: string) => {
    const layout = layouts.get(key);
    if (layout === undefined) throw new Error(`${graph.name} has no state-dict entry \`${key}\``);
    return layout;
  };
  return {
    fromTorchLayout: (key, values, torchShape) => fromTorchLayout(layoutOf(key), values, torchShape),
    toTorchLayout: (key, tensor) => toTorchLayout(layoutOf(key), tensor),
    torchShape: (key, shape) => shapeInTorchLayout(layoutOf(key), shape),
  };
}
