/** One zoo step as tfjs computation: what each `Operation` kind means on laid-out values. */
import * as tf from "@tensorflow/tfjs";
import type { GraphNode, StateEntry } from "../zoo/graph.js";
import { activations } from "./activations.js";
import { conv2d } from "./convolution.js";
import { broadcastTogether, CHANNELS_LAST, identityAxes, permuted, physicalAxis, tensorIn, type LaidOut } from "./logical-layout.js";
import { batchNorm, FROZEN_BATCH_NORM_EPS, layerNorm } from "./normalisation.js";
import { adaptiveAvgPool2d, maxPool2d } from "./pooling.js";

export interface StepContext {
  readonly images: tf.Tensor4D;
  /** Batch norms are torchvision's FrozenBatchNorm2d. */
  readonly frozenBatchNorm: boolean;
  variable(key: string): tf.Variable;
  /** Whether the batch-norm step normalises by batch statistics (and updates its running ones). */
  batchStatistics(node: GraphNode): boolean;
}

const channelsLast = (value: LaidOut) => tensorIn(value, CHANNELS_LAST) as tf.Tensor4D;

export function lowerStep(node: GraphNode, inputs: readonly LaidOut[], context: StepContext): LaidOut {
  const state = (role: StateEntry["role"]) => {
    const entry = node.state.find((e) => e.role === role);
    return entry && context.variable(entry.key);
  };
  const op = node.op;
  const x = inputs[0]!;
  switch (op.kind) {
    case "input":
      return { tensor: context.images, axes: CHANNELS_LAST };
    case "conv2d":
      return { tensor: conv2d(op, channelsLast(x), state("weight") as tf.Tensor4D, state("bias")), axes: CHANNELS_LAST };
    case "batch_norm": {
      const bn = {
        weight: state("weight")!,
        bias: state("bias")!,
        runningMean: state("running_mean")!,
        runningVar: state("running_var")!,
        numBatchesTracked: state("num_batches_tracked")!,
      };
      const eps = context.frozenBatchNorm ? FROZEN_BATCH_NORM_EPS : op.eps;
      const y = batchNorm(channelsLast(x), bn, eps, op.momentum, context.batchStatistics(node));
      return { tensor: y, axes: CHANNELS_LAST };
    }
    case "layer_norm": {
      // nn.LayerNorm owns its weight and bias; F.layer_norm (LayerNorm2d) is given them as inputs.
      const weight = state("weight") ?? inputs[1]!.tensor;
      const bias = state("bias") ?? inputs[2]!.tensor;
      return { tensor: layerNorm(x.tensor, physicalAxis(x, -1), weight, bias, op.eps), axes: x.axes };
    }
    case "activation":
      return { tensor: activations[op.fn](x.tensor), axes: x.axes };
    case "max_pool2d":
      return { tensor: maxPool2d(op, channelsLast(x)), axes: CHANNELS_LAST };
    case "adaptive_avg_pool2d":
      return { tensor: adaptiveAvgPool2d(op.output, channelsLast(x)), axes: CHANNELS_LAST };
    case "linear": {
      // Features are the logical last axis; keep any layout that already has them last.
      const rank = x.axes.length;
      const value = x.axes[rank - 1] === rank - 1 ? x : { tensor: tensorIn(x, identityAxes(rank)), axes: identityAxes(rank) };
      const shape = value.tensor.shape;
      const rows = value.tensor.reshape([-1, op.inFeatures]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(rows, state("weight") as tf.Tensor2D);
      const bias = state("bias");
      if (bias) y = tf.add(y, bias);
      return { tensor: y.reshape([...shape.slice(0, -1), op.outFeatures]), axes: value.axes };
    }
    case "add":
    case "mul": {
      const { a, b, axes } = broadcastTogether(x, inputs[1]!);
      return { tensor: op.kind === "add" ? tf.add(a, b) : tf.mul(a, b), axes };
    }
    case "flatten": {
      // Flattening follows torch's element order, so the logical layout must be materialised.
      const rank = x.axes.length;
      const logical = tensorIn(x, identityAxes(rank));
      const flat = logical.reshape([...logical.shape.slice(0, op.startDim), -1]);
      return { tensor: flat, axes: identityAxes(flat.rank) };
    }
    case "permute":
      return permuted(x, op.dims);
    case "identity":
      return x;
    case "parameter":
      return { tensor: state("parameter")!, axes: identityAxes(op.shape.length) };
  }
}
