/**
 * `tf.variableGrads` with PyTorch's memory behaviour in the backward pass.
 *
 * tfjs's own backward pass (`Engine.gradients` → `backpropagateGradients`) frees nothing until it
 * has walked the whole tape: every tensor the forward pass saved for backward, and the gradient of
 * every intermediate tensor, stay alive to the end, so the backward pass peaks at about twice the
 * forward pass's activations. Autograd frees each node's saved tensors and its outputs' gradients
 * as soon as the node is done. This walks the same tape the same way (same gradient functions,
 * same order, same sums, so the same numbers) and frees as autograd does:
 *
 * - the saved tensors of nodes off every variable→loss path are freed before the walk (frozen
 *   stages, anchor and target computations);
 * - once a node's input gradients are computed, its saved tensors and its outputs' gradients go.
 *
 * It reads tfjs's engine state (the tape of tfjs-core 4.x), which no public API exposes.
 */
import * as tf from "@tensorflow/tfjs";

interface TapeNode {
  readonly id: number;
  readonly kernelName: string;
  readonly inputs: Readonly<Record<string, tf.Tensor>>;
  readonly outputs: readonly tf.Tensor[];
  readonly saved?: readonly tf.Tensor[];
  readonly gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
}

interface EngineInternals {
  readonly state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, f: () => T): T;
}

const engine = () => tf.engine() as unknown as EngineInternals;

function disposeSaved(nodes: readonly TapeNode[]): void {
  for (const node of nodes) for (const tensor of node.saved ?? []) tensor.dispose();
}

/** The nodes on a path from `xs` to `y`, in tape order, each with the inputs that depend on `xs`. */
function nodesFromXsToY(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor): { node: TapeNode; inputs: string[] }[] {
  const fromXs = new Set(xs.map((x) => x.id));
  const reachedFromXs = new Set<number>();
  for (const node of tape)
    if (Object.values(node.inputs).some((input) => fromXs.has(input.id))) {
      reachedFromXs.add(node.id);
      for (const output of node.outputs) fromXs.add(output.id);
    }
  const leadToY = new Set([y.id]);
  const leadingToY = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i];
    if (node === undefined || !node.outputs.some((output) => leadToY.has(output.id))) continue;
    leadingToY.add(node.id);
    for (const input of Object.values(node.inputs)) leadToY.add(input.id);
  }
  return tape
    .filter((node) => reachedFromXs.has(node.id) && leadingToY.has(node.id))
    .map((node) => ({ node, inputs: Object.keys(node.inputs).filter((name) => fromXs.has(node.inputs[name]?.id ?? -1)) }));
}

/**
 * Walks `path` backwards from `y` (whose gradient is `dy`), freeing as it goes; returns the gradients
 * of the `xs` that `y` depends on, by tensor id.
 */
function backpropagate(path: ReturnType<typeof nodesFromXsToY>, xs: readonly tf.Tensor[], y: tf.Tensor, dy: tf.Tensor): Map<number, tf.Tensor> {
  const keep = new Set(xs.map((x) => x.id));
  const gradients = new Map<number, tf.Tensor>([[y.id, dy]]);
  for (let i = path.length - 1; i >= 0; i--) {
    const step = path[i];
    if (step === undefined) continue;
    const { node, inputs } = step;
    if (node.gradient === undefined) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
    const dys = node.outputs.map((output) => gradients.get(output.id) ?? null);
    const inputGradients = node.gradient(dys);
    for (const name of inputs) {
      const compute = inputGradients[name];
      const x = node.inputs[name];
      if (compute === undefined || x === undefined) throw new Error(`Cannot backprop through input ${name} of ${node.kernelName}.`);
      let dx = tf.tidy(compute);
      // A gradient function may hand back its dy itself, which is freed below.
      if (dys.includes(dx)) dx = dx.clone();
      const sum = gradients.get(x.id);
      if (sum === undefined) gradients.set(x.id, dx);
      else {
        gradients.set(x.id, tf.add(sum, dx));
        sum.dispose();
        dx.dispose();
      }
    }
    // Every reader of this node's outputs came later on the tape and is done: their gradients,
    // and what this node saved, are needed no more.
    const inputIds = new Set(Object.values(node.inputs).map((input) => input.id));
    for (const output of node.outputs)
      if (!keep.has(output.id) && !inputIds.has(output.id)) {
        gradients.get(output.id)?.dispose();
        gradients.delete(output.id);
      }
    disposeSaved([node]);
  }
  return gradients;
}

/** Runs `f` on a fresh tape; returns its value and the tape, or frees the tape if `f` throws. */
function recordTape<T extends tf.Tensor>(f: () => T): { value: T; tape: TapeNode[] } {
  const tfEngine = engine();
  if (tfEngine.state.gradientDepth !== 0) throw new Error("detc's gradients do not nest inside another gradient computation");
  tfEngine.startTape();
  let value: T;
  try {
    value = tfEngine.tidy("forward", f);
  } catch (error) {
    disposeSaved(tfEngine.state.activeTape ?? []);
    tfEngine.state.activeTape = null;
    throw error;
  } finally {
    tfEngine.endTape();
  }
  const tape = tfEngine.state.activeTape ?? [];
  tfEngine.state.activeTape = null;
  return { value, tape };
}

/** The gradients of `y` (seeded with `dy`) for `xs`, by tensor id, the tape freed as it goes and at the end. */
function walkTape(tape: readonly TapeNode[], xs: readonly tf.Tensor[], y: tf.Tensor, dy: () => tf.Tensor): Map<number, tf.Tensor> {
  const path = nodesFromXsToY(tape, xs, y);
  const onPath = new Set(path.map((step) => step.node.id));
  disposeSaved(tape.filter((node) => !onPath.has(node.id)));
  try {
    return backpropagate(path, xs, y, dy());
  } finally {
    disposeSaved(path.map((step) => step.node));
  }
}

/**
 * The gradient of `f()` for each of `xs`, given `dy`, the gradient of some loss for `f()`'s value:
 * a vector-Jacobian product, as `tf.grads` computes it, with the same freeing as `variableGrads`.
 * A tensor of `xs` that `f` does not depend on gets a zero gradient. For custom gradients that
 * recompute their forward pass.
 */
export function gradientsOf(f: () => tf.Tensor, xs: readonly tf.Tensor[], dy: tf.Tensor): tf.Tensor[] {
  const { value, tape } = recordTape(f);
  try {
    return engine().tidy("backward", () => {
      const byId = walkTape(tape, xs, value, () => dy.clone());
      return xs.map((x) => byId.get(x.id) ?? tf.zerosLike(x));
    });
  } finally {
    value.dispose();
  }
}

/**
 * `tf.variableGrads(f, variables)`: the value of `f` (a scalar) and the gradient of it for each
 * trainable variable it depends on, by variable name. Same contract and numbers as tfjs's; lower
 * peak memory.
 */
export function variableGrads(f: () => tf.Scalar, variables: readonly tf.Variable[]): { value: tf.Scalar; grads: tf.NamedTensorMap } {
  const trainable = variables.filter((variable) => variable.trainable);
  if (trainable.length === 0) throw new Error(`variableGrads() expects at least one trainable variable, but none of the ${variables.length} is`);
  const { value, tape } = recordTape(f);
  if (value.rank !== 0) {
    disposeSaved(tape);
    throw new Error(`The f passed in variableGrads(f) must return a scalar, but it returned a rank-${value.rank} tensor`);
  }
  const grads = engine().tidy("backward", () => {
    const byId = walkTape(tape, trainable, value, () => tf.onesLike(value));
    const named: tf.NamedTensorMap = {};
    for (const variable of trainable) {
      const gradient = byId.get(variable.id);
      if (gradient !== undefined) named[variable.name] = gradient;
    }
    return named;
  });
  if (Object.keys(grads).length === 0) {
    value.dispose();
    throw new Error("Cannot find a connection between any variable and the result of the loss function y=f(x).");
  }
  return { value, grads };
}
