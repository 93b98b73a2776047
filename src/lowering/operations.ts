/** One zoo step as tfjs computation: what each `Operation` kind means on laid-out values. */
import * as tf from "@tensorflow/tfjs";
import type { GraphNode, StateEntry } from "../zoo/graph.js";
import { activations } from "./activations.js";
import { patchMergingPad, relativePositionBias, shiftedWindowAttention } from "./attention.js";
import { conv2d } from "./convolution.js";
import { add } from "./lean-backward.js";
import { broadcastTogether, CHANNELS_LAST, identityAxes, permuted, physicalAxis, tensorIn, type LaidOut } from "./logical-layout.js";
import { batchNorm, layerNorm, runningAffine, type BatchNormState } from "./normalisation.js";
import { adaptiveAvgPool2d, avgPool2d, maxPool2d } from "./pooling.js";

export interface StepContext {
  readonly images: tf.Tensor4D;
  /** Gradients will be taken (training mode). */
  readonly training: boolean;
  /** The spec's `batch_norm_eps`, for every batch norm; undefined keeps each one's own. */
  readonly batchNormEps: number | undefined;
  variable(key: string): tf.Variable;
  /** Whether the batch-norm step normalises by batch statistics (and updates its running ones). */
  batchStatistics(node: GraphNode): boolean;
  /** False while a stage's forward pass is computed again for its backward pass. */
  readonly updatesRunningStatistics: boolean;
  /** The batch norm (using running statistics) this conv computes too, if it is folded into it. */
  foldedNorm(conv: GraphNode): GraphNode | undefined;
  /** Whether this batch norm is computed by the conv before it. */
  isFolded(norm: GraphNode): boolean;
}

const channelsLast = (value: LaidOut) => tensorIn(value, CHANNELS_LAST) as tf.Tensor4D;

type NodeState = (role: StateEntry["role"]) => tf.Variable | undefined;

function stateOf(node: GraphNode, context: StepContext): NodeState {
  return (role) => {
    const entry = node.state.find((e) => e.role === role);
    return entry && context.variable(entry.key);
  };
}

function batchNormState(state: NodeState): BatchNormState {
  return {
    weight: state("weight")!,
    bias: state("bias")!,
    runningMean: state("running_mean")!,
    runningVar: state("running_var")!,
    numBatchesTracked: state("num_batches_tracked")!,
  };
}

function normEps(norm: GraphNode, context: StepContext): number {
  return context.batchNormEps ?? (norm.op as Extract<GraphNode["op"], { kind: "batch_norm" }>).eps;
}

export function lowerStep(node: GraphNode, inputs: readonly LaidOut[], context: StepContext): LaidOut {
  const state = stateOf(node, context);
  const op = node.op;
  const x = inputs[0]!;
  switch (op.kind) {
    case "input":
      return { tensor: context.images, axes: CHANNELS_LAST };
    case "conv2d": {
      const norm = context.foldedNorm(node);
      const affine = norm && runningAffine(batchNormState(stateOf(norm, context)), normEps(norm, context));
      const y = conv2d(op, channelsLast(x), state("weight") as tf.Tensor4D, state("bias"), { affine, fuseBias: !context.training });
      return { tensor: y, axes: CHANNELS_LAST };
    }
    case "batch_norm": {
      if (context.isFolded(node)) return x; // computed by the conv before it
      const y = batchNorm(channelsLast(x), batchNormState(state), normEps(node, context), op.momentum, context.batchStatistics(node), context.updatesRunningStatistics);
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
    case "avg_pool2d":
      return { tensor: avgPool2d(op, channelsLast(x)), axes: CHANNELS_LAST };
    case "mean": {
      // Reduce the physical axes holding `dims`; the kept ones keep their order, renumbered.
      const rank = x.axes.length;
      const reduced = op.dims.map((d) => (d < 0 ? rank + d : d));
      const kept = x.axes.filter((logical) => !reduced.includes(logical));
      const renumber = (logical: number) => kept.filter((k) => k < logical).length;
      return { tensor: tf.mean(x.tensor, reduced.map((d) => physicalAxis(x, d))), axes: kept.map(renumber) };
    }
    case "linear": {
      // Features are the logical last axis; keep any layout that already has them last.
      const rank = x.axes.length;
      const value = x.axes[rank - 1] === rank - 1 ? x : { tensor: tensorIn(x, identityAxes(rank)), axes: identityAxes(rank) };
      const shape = value.tensor.shape;
      const rows = value.tensor.reshape([-1, op.inFeatures]) as tf.Tensor2D;
      let y: tf.Tensor = tf.matMul(rows, state("weight") as tf.Tensor2D);
      const bias = state("bias");
      if (bias) y = add(y, bias);
      return { tensor: y.reshape([...shape.slice(0, -1), op.outFeatures]), axes: value.axes };
    }
    case "add":
    case "mul": {
      const { a, b, axes } = broadcastTogether(x, inputs[1]!);
      return { tensor: op.kind === "add" ? add(a, b) : tf.mul(a, b), axes };
    }
    case "concat": {
      // Every input in the first one's layout, joined along the physical axis holding `dim`.
      const tensors = inputs.map((input) => tensorIn(input, x.axes));
      return { tensor: tf.concat(tensors, physicalAxis(x, op.dim)), axes: x.axes };
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
    case "buffer":
      return { tensor: state("buffer")!, axes: identityAxes(op.shape.length) };
    case "training_only":
      throw new Error(`${op.module} runs only in training mode: no feature map reads it`);
    case "module_state":
      throw new Error(`${op.module}'s state order is no step`);
    case "reshape": {
      const logical = tensorIn(x, identityAxes(x.axes.length));
      const reshaped = logical.reshape([...op.shape]);
      return { tensor: reshaped, axes: identityAxes(reshaped.rank) };
    }
    case "scale":
      return { tensor: tf.mul(x.tensor, op.factor), axes: x.axes };
    case "relative_position_bias":
      return { tensor: relativePositionBias(inOrder(x), inOrder(inputs[1]!), op.window, op.heads), axes: identityAxes(4) };
    case "patch_merging_pad":
      return { tensor: patchMergingPad(inOrder(x) as tf.Tensor4D), axes: identityAxes(4) };
    case "shifted_window_attention": {
      const [map, qkvWeight, projWeight, positionBias, qkvBias, projBias, logitScale] = inputs.map(inOrder);
      const weights = { qkvWeight: qkvWeight!, projWeight: projWeight!, positionBias: positionBias!, qkvBias: qkvBias!, projBias: projBias! };
      const y = shiftedWindowAttention(map as tf.Tensor4D, logitScale ? { ...weights, logitScale } : weights, op);
      return { tensor: y, axes: identityAxes(4) };
    }
  }
}

/** A value in torch's own axis order (Swin's channels-last maps are [N, H, W, C] there). */
const inOrder = (value: LaidOut) => tensorIn(value, identityAxes(value.axes.length));
