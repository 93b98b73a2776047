/**
 * A zoo backbone as TensorFlow.js computation: the feature extractor torchvision's
 * `create_feature_extractor(model, taps)` builds, with one tf.Variable per state-dict entry it
 * reads, named by torchvision's key.
 *
 * Images go in as NHWC [N, H, W, 3] and feature maps come out NHWC [N, H, W, C] (see `layouts.ts`).
 * `trainable N` freezes every stage (`zoo/stages.ts`) but the last N up to the deepest tap: their
 * variables are not trainable and their batch norms always use running statistics, so a frozen
 * stage is a fixed function. With `frozenBatchNorm` every batch norm is torchvision's
 * FrozenBatchNorm2d (running statistics, weight and bias not trained), as torchvision's
 * detection backbones use; otherwise a batch norm in a trainable stage normalises by batch
 * statistics while training and updates its running ones.
 * With `recomputeStages`, each trainable stage keeps only its input for the backward pass, which
 * runs its forward pass again (activation checkpointing, `torch.utils.checkpoint` per stage).
 * Dropout and stochastic depth are identities: the zoo does not record their probabilities.
 */
import * as tf from "@tensorflow/tfjs";
import { findBackbone } from "../zoo/index.js";
import { ancestors, stateEntries, type BackboneGraph, type GraphNode, type StateEntry } from "../zoo/graph.js";
import { stages as stagesOf, type Stage } from "../zoo/stages.js";
import { gradientsOf } from "../engine/gradients.js";
import { initialValue } from "./initialisation.js";
import { leanOp } from "./lean-backward.js";
import { shapeInOurLayout, weightConverter, weightLayouts, type WeightConverter } from "./layouts.js";
import { CHANNELS_LAST, identityAxes, tensorIn, type LaidOut } from "./logical-layout.js";
import { lowerStep, type StepContext } from "./operations.js";

export interface LoweringOptions {
  /** Node names (resolved with `resolveTap`), in the order `apply` returns them. */
  readonly taps: readonly string[];
  /** torchvision's `trainable_layers`: how many of the last stages up to the deepest tap train. */
  readonly trainableStages: number;
  readonly frozenBatchNorm: boolean;
  /**
   * Every batch norm's eps (the spec's `batch_norm_eps`), whether frozen or trained; undefined
   * keeps the network's own (torchvision's: 1e-3 for MobileNetV3, EfficientNet B5–B7 and V2,
   * GoogLeNet and Inception v3, else 1e-5).
   */
  readonly batchNormEps?: number;
  /** Seeds the random initial values. */
  readonly seed: number;
  /**
   * While training, keep only each trainable stage's input for the backward pass and compute the
   * stage's forward pass again there (the spec's `train recompute_stages`); default false.
   */
  readonly recomputeStages?: boolean;
  /**
   * Prepended to each variable's name in tfjs's registry, which must be unique across live
   * variables: two backbones alive at once need different prefixes (e.g. `backbone.body.`).
   */
  readonly namePrefix?: string;
}

export interface ApplyOptions {
  /**
   * Training mode: gradients will be taken, and batch norms that train normalise by batch
   * statistics and update their running ones.
   */
  readonly training: boolean;
}

export interface LoweredBackbone extends WeightConverter {
  readonly graph: BackboneGraph;
  readonly taps: readonly string[];
  readonly stages: readonly Stage[];
  /** The state-dict entries the taps read, in first-use order. */
  readonly entries: readonly StateEntry[];
  /** One variable per entry, keyed by torchvision's state-dict key, in our layout. */
  readonly variables: ReadonlyMap<string, tf.Variable>;
  /** One tensor per tap; feature maps are NHWC. The caller owns (and disposes) them. */
  apply(images: tf.Tensor4D, options: ApplyOptions): tf.Tensor[];
  dispose(): void;
}

/** The last step that reads each value; taps are read by the caller, after every step. */
function lastUses(plan: readonly GraphNode[], taps: readonly string[]): Map<string, number> {
  const last = new Map<string, number>();
  plan.forEach((node, i) => node.inputs.forEach((input) => last.set(input, i)));
  for (const tap of taps) last.set(tap, Infinity);
  return last;
}

/**
 * Batch norms that can be folded into the conv before them (by conv name): the norm reads only
 * that conv, which nothing else reads and which is not a tap. With running statistics the pair is
 * one conv with scaled weights and a bias, two fewer passes over the activations each way.
 */
function foldableNorms(plan: readonly GraphNode[], taps: readonly string[]): Map<string, GraphNode> {
  const readers = new Map<string, GraphNode[]>();
  for (const node of plan) for (const input of new Set(node.inputs)) readers.set(input, [...(readers.get(input) ?? []), node]);
  const folds = new Map<string, GraphNode>();
  for (const conv of plan) {
    const [norm, ...others] = readers.get(conv.name) ?? [];
    if (conv.op.kind === "conv2d" && norm?.op.kind === "batch_norm" && others.length === 0 && !taps.includes(conv.name))
      folds.set(conv.name, norm);
  }
  return folds;
}

/**
 * A tap's tensor: feature maps (logically NCHW) channels-last, anything else in torch's order,
 * which for Swin's channels-last maps ([N, H, W, C] in torch) is the NHWC feature map too.
 */
function output(value: LaidOut): tf.Tensor {
  const axes = value.axes;
  const channelsLast = axes.length === 4 && axes.every((a, i) => a === CHANNELS_LAST[i]);
  return channelsLast ? value.tensor : tensorIn(value, identityAxes(axes.length));
}

function checkTaps(graph: BackboneGraph, taps: readonly string[], plan: readonly GraphNode[]): void {
  const known = new Set(plan.map((n) => n.name));
  const missing = taps.filter((t) => !known.has(t));
  if (missing.length > 0) throw new Error(`${graph.name} has no node ${missing.map((t) => `\`${t}\``).join(", ")}`);
}

/** One variable per state entry, initialised for its owner: the first node in the plan that holds it. */
function createVariables(
  graph: BackboneGraph,
  plan: readonly GraphNode[],
  entries: readonly StateEntry[],
  frozenKeys: ReadonlySet<string>,
  options: LoweringOptions,
): Map<string, tf.Variable> {
  const owners = new Map<string, GraphNode>();
  for (const node of plan) for (const entry of node.state) if (!owners.has(entry.key)) owners.set(entry.key, node);
  const family = findBackbone(graph.name)?.family;
  const layouts = weightLayouts(graph);
  const variables = new Map<string, tf.Variable>();
  for (const entry of entries) {
    const owner = owners.get(entry.key)!;
    const readers = plan.filter((n) => n.inputs.includes(owner.name));
    const frozenNorm = options.frozenBatchNorm && owner.op.kind === "batch_norm";
    const trainable = entry.trainable && !frozenKeys.has(entry.key) && !frozenNorm;
    const shape = shapeInOurLayout(layouts.get(entry.key)!, entry.shape);
    const value = initialValue(family, entry, shape, owner, readers, options.seed);
    variables.set(entry.key, tf.variable(value, trainable, `${options.namePrefix ?? ""}${entry.key}`));
    value.dispose();
  }
  return variables;
}

/**
 * How many of the plan's leading steps can run off the tape: those up to the last frozen one,
 * when they are all frozen (or the input); stages are prefixes of the plan.
 */
function frozenPrefixLength(plan: readonly GraphNode[], frozenNodes: ReadonlySet<string>): number {
  const lastFrozen = plan.reduce((last, node, i) => (frozenNodes.has(node.name) ? i : last), -1);
  const leadingFrozen = plan.slice(0, lastFrozen + 1).every((node) => frozenNodes.has(node.name) || node.op.kind === "input");
  return leadingFrozen ? lastFrozen + 1 : 0;
}

/** One call of `apply`: the plan, when each value is last read, and what its steps read. */
interface PlanRun {
  readonly plan: readonly GraphNode[];
  readonly lastUse: ReadonlyMap<string, number>;
  readonly images: tf.Tensor;
  readonly context: StepContext;
}

/** Forgets value `name`, and disposes its tensor unless another value shares it or it is not ours. */
function release(run: PlanRun, values: Map<string, LaidOut>, name: string): void {
  const tensor = values.get(name)!.tensor;
  values.delete(name);
  const shared = [...values.values()].some((v) => v.tensor === tensor);
  if (!shared && tensor !== run.images && !(tensor instanceof tf.Variable)) tensor.dispose();
}

/** Steps [from, to) of the plan, each value released after its last reader. */
function runSteps(run: PlanRun, from: number, to: number, values: Map<string, LaidOut>): void {
  for (let i = from; i < to; i++) {
    const node = run.plan[i]!;
    const inputs = node.inputs.map((input) => values.get(input)!);
    const value = tf.tidy(() => {
      const { tensor, axes } = lowerStep(node, inputs, run.context);
      return { tensor, axes: [...axes] };
    });
    values.set(node.name, value);
    for (const input of new Set(node.inputs)) if (run.lastUse.get(input) === i) release(run, values, input);
  }
}

/**
 * The frozen stages while training, as torchvision runs them with `requires_grad=False`: nothing
 * in them needs a gradient, so they run inside a custom-gradient op, which tfjs's tape records as
 * one node that saves nothing, instead of one node per op, each keeping its activations until
 * the backward pass. Returns the values still to be read after them, in one packed tensor
 * unpacked outside (a custom-gradient op has one output).
 */
function runOffTape(run: PlanRun, frozenPrefix: number): Map<string, LaidOut> {
  let live: [string, LaidOut][] = [];
  const packed = tf.customGrad(() => {
    const values = new Map<string, LaidOut>();
    runSteps(run, 0, frozenPrefix, values);
    live = [...values];
    const value = tf.concat(live.map(([, v]) => tf.reshape(v.tensor, [-1])));
    // Never called: the images do not depend on any variable, so no gradient flows back here.
    return { value, gradFunc: () => tf.zerosLike(run.images) };
  })(run.images);
  const unpacked = new Map<string, LaidOut>();
  let offset = 0;
  for (const [name, value] of live) {
    const size = value.tensor.size;
    unpacked.set(name, { tensor: tf.reshape(tf.slice(packed, offset, size), value.tensor.shape), axes: value.axes });
    offset += size;
  }
  packed.dispose();
  return unpacked;
}

/** Consecutive steps [from, to) of the plan, all of one stage (`stage`) or of none. */
interface StepRun {
  readonly from: number;
  to: number;
  readonly stage: number | undefined;
}

/** The plan's steps from `start` in runs of one stage each: the units whose forward pass is recomputed. */
function stageRuns(plan: readonly GraphNode[], stages: readonly Stage[], start: number): StepRun[] {
  const stageOf = new Map(stages.flatMap((stage, i) => stage.nodes.map((node) => [node, i] as const)));
  const runs: StepRun[] = [];
  for (let i = start; i < plan.length; i++) {
    const stage = stageOf.get(plan[i]?.name ?? "");
    const last = runs.at(-1);
    if (last && stage === last.stage) last.to = i + 1;
    else runs.push({ from: i, to: i + 1, stage });
  }
  return runs;
}

/** Slices of one packed tensor, shaped, keeping nothing for the backward pass (tfjs's `Slice` keeps the whole). */
function unpack(packed: tf.Tensor, shapes: readonly number[][]): tf.Tensor[] {
  let offset = 0;
  return shapes.map((shape) => {
    const size = shape.reduce((product, n) => product * n, 1);
    const begin = offset;
    offset += size;
    return leanOp<[tf.Tensor]>(
      ([whole]) => tf.reshape(tf.slice(whole, begin, size), shape),
      (dy) => [tf.pad(tf.reshape(dy, [-1]), [[begin, packed.size - begin - size]])],
    )(packed);
  });
}

/**
 * Steps [from, to) (one stage) as one custom-gradient op that keeps only the values it reads (and
 * reads the stage's trainable variables, to which it gives gradients): its backward pass runs the
 * steps again on the tape and backpropagates through them. Running statistics move once, in the
 * first pass. The stage's outputs (the values read after it) are packed into the op's one output.
 */
function runRecomputed(run: PlanRun, from: number, to: number, values: Map<string, LaidOut>): void {
  const steps = run.plan.slice(from, to);
  const produced = new Set(steps.map((step) => step.name));
  const inputNames = [...new Set(steps.flatMap((step) => step.inputs))].filter((name) => !produced.has(name));
  const outputNames = steps.map((step) => step.name).filter((name) => (run.lastUse.get(name) ?? -1) >= to);
  const variables = [...new Set(steps.flatMap((step) => step.state.map((entry) => run.context.variable(entry.key))))].filter((v) => v.trainable);
  const inputs = inputNames.map((name) => values.get(name)!);
  // The inputs stay the caller's: released after the stage, not inside it.
  const lastUse = new Map([...run.lastUse, ...inputNames.map((name) => [name, Infinity] as const)]);
  let axes: (readonly number[])[] = [];
  let shapes: number[][] = [];
  const forward = (tensors: readonly tf.Tensor[], context: StepContext): tf.Tensor => {
    const local = new Map(inputNames.map((name, i) => [name, { tensor: tensors[i]!, axes: inputs[i]!.axes }]));
    runSteps({ ...run, lastUse, context }, from, to, local);
    const outputs = outputNames.map((name) => local.get(name)!);
    axes = outputs.map((output) => output.axes);
    shapes = outputs.map((output) => output.tensor.shape);
    return tf.concat(outputs.map((output) => tf.reshape(output.tensor, [-1])));
  };
  const needsGradient = inputs.map((input) => input.tensor !== run.images);
  const stage = leanOp<tf.Tensor[]>(
    (tensors, save) => {
      save(tensors.slice(0, inputs.length));
      return forward(tensors.slice(0, inputs.length), run.context);
    },
    (dy, saved) => {
      const xs = [...saved.filter((_, i) => needsGradient[i]), ...variables];
      const grads = gradientsOf(() => forward(saved, { ...run.context, updatesRunningStatistics: false }), xs, dy);
      let next = 0;
      return [...saved.map((input, i) => (needsGradient[i] ? grads[next++]! : tf.zerosLike(input))), ...grads.slice(next)];
    },
  );
  const packed = stage(...inputs.map((input) => input.tensor), ...variables);
  unpack(packed, shapes).forEach((tensor, i) => values.set(outputNames[i]!, { tensor, axes: axes[i]! }));
  packed.dispose();
  for (const name of inputNames) if ((run.lastUse.get(name) ?? Infinity) < to) release(run, values, name);
}

export function lowerBackbone(graph: BackboneGraph, options: LoweringOptions): LoweredBackbone {
  const taps = [...options.taps];
  const plan = ancestors(graph, taps);
  checkTaps(graph, taps, plan);

  const stages = stagesOf(graph, taps);
  const frozenStages = stages.slice(0, Math.max(0, stages.length - options.trainableStages));
  const frozenKeys = new Set(frozenStages.flatMap((s) => s.stateKeys));
  const frozenNodes = new Set(frozenStages.flatMap((s) => s.nodes));

  const entries = stateEntries(plan);
  const variables = createVariables(graph, plan, entries, frozenKeys, options);
  const converter = weightConverter(graph);

  const lastUse = lastUses(plan, taps);
  const frozenPrefix = frozenPrefixLength(plan, frozenNodes);
  const foldable = foldableNorms(plan, taps);
  const foldedNorms = new Set(foldable.values());

  function apply(images: tf.Tensor4D, { training }: ApplyOptions): tf.Tensor[] {
    if (images.rank !== 4 || images.shape[3] !== 3) throw new Error(`images must be [N, H, W, 3], got [${images.shape}]`);
    const batchStatistics = (node: GraphNode) => training && !options.frozenBatchNorm && !frozenNodes.has(node.name);
    const context: StepContext = {
      images,
      training,
      batchNormEps: options.batchNormEps,
      variable: (key) => variables.get(key)!,
      batchStatistics,
      updatesRunningStatistics: true,
      foldedNorm: (conv) => {
        const norm = foldable.get(conv.name);
        return norm && !batchStatistics(norm) ? norm : undefined;
      },
      isFolded: (norm) => foldedNorms.has(norm) && !batchStatistics(norm),
    };
    const run: PlanRun = { plan, lastUse, images, context };
    // Peak memory is what is live at once: each step's temporaries go with its own tidy, and each
    // value goes after its last reader, unless another live value shares its tensor (identities
    // and permutes do) or it is not ours (the images, a variable). Tensors that backpropagation
    // needs are kept by tfjs's tape regardless, except in the frozen stages (see `runOffTape`) and
    // in recomputed ones (`runRecomputed`).
    return tf.tidy(() => {
      const values = new Map<string, LaidOut>();
      const start = training ? frozenPrefix : 0;
      if (start > 0) for (const [name, value] of runOffTape(run, frozenPrefix)) values.set(name, value);
      if (!training || !options.recomputeStages) runSteps(run, start, plan.length, values);
      else
        for (const { from, to, stage } of stageRuns(plan, stages, start))
          if (stage === undefined) runSteps(run, from, to, values);
          else runRecomputed(run, from, to, values);
      return taps.map((tap) => output(values.get(tap)!));
    });
  }

  return {
    graph,
    taps,
    stages,
    entries,
    variables,
    apply,
    fromTorchLayout: converter.fromTorchLayout,
    toTorchLayout: converter.toTorchLayout,
    torchShape: converter.torchShape,
    dispose: () => variables.forEach((v) => v.dispose()),
  };
}
