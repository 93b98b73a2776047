/**
 * Records a backbone's forward pass as a `BackboneGraph`, naming steps the way torchvision's
 * `NodePathTracer` does: a module call is named by its module path, a function call by
 * `<enclosing module>.<function>`, and a repeated name gets `_1`, `_2`, … . Calls made inside
 * one of torchvision's leaf modules are recorded but hidden, and the leaf's last step takes its name.
 */
import { stateEntries, type BackboneGraph, type GraphNode, type Operation, type StateEntry } from "./graph.js";

/** A value flowing through the graph: the name of the step that produced it. */
export type Value = string;

export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly lastIndex = new Map<string, number>();
  private leafPath: string | undefined;
  private hiddenCount = 0;

  constructor(private readonly network: string) {}

  input(): Value {
    return this.push("x", { kind: "input" }, [], []);
  }

  /** A call of the module at `path` (a torch.nn leaf such as Conv2d or ReLU). */
  module(path: string, op: Operation, inputs: readonly Value[], state: readonly StateEntry[] = []): Value {
    return this.push(path, op, inputs, state);
  }

  /** A function call (`x + y`, `torch.flatten`) made in the forward of the module at `scope`. */
  call(scope: string, fn: string, op: Operation, inputs: readonly Value[]): Value {
    return this.push(scope ? `${scope}.${fn}` : fn, op, inputs, []);
  }

  /** A parameter read directly in the forward of the module at `scope` (FX `get_attr`). */
  parameter(scope: string, key: string, shape: readonly number[]): Value {
    const entry: StateEntry = { key, shape, role: "parameter", trainable: true };
    const fxName = key.replace(/\./g, "_");
    return this.push(scope ? `${scope}.${fxName}` : fxName, { kind: "parameter", shape }, [], [entry]);
  }

  /**
   * A buffer read in the forward of the module at `scope`. FX names no node for a buffer (only
   * parameters become `get_attr` nodes), so its step is hidden.
   */
  buffer(scope: string, key: string, op: Extract<Operation, { kind: "buffer" }>): Value {
    const entry: StateEntry = { key, shape: op.shape, role: "buffer", trainable: false };
    return this.pushHidden(`${scope}.${key.split(".").pop()}`, op, [], [entry]);
  }

  /** How many steps are recorded: where a later `stateInOrder` puts its step. */
  get mark(): number {
    return this.nodes.length;
  }

  /**
   * Fixes the state-dict order of the entries read by the steps recorded since `mark` to torch's,
   * which follows `module`'s registration of its children (`order`, relative names) rather than
   * the order its forward reads them (Swin's blocks). A hidden step at `mark` holds them in that
   * order; nothing reads it.
   */
  stateInOrder(module: string, mark: number, order: readonly string[]): void {
    const rank = (key: string) => {
      const child = order.findIndex((name) => key === `${module}.${name}` || key.startsWith(`${module}.${name}.`));
      if (child < 0) throw new Error(`${module}: \`${key}\` is under none of ${order.join(", ")}`);
      return child;
    };
    const entries = stateEntries(this.nodes.slice(mark));
    const ordered = entries.map((entry, i) => ({ entry, rank: rank(entry.key), i })).sort((a, b) => a.rank - b.rank || a.i - b.i);
    const state = ordered.map(({ entry }) => entry);
    this.nodes.splice(mark, 0, { name: `${module}#${this.hiddenCount++}`, visible: false, op: { kind: "module_state", module }, inputs: [], state });
  }

  /**
   * A torchvision leaf module (Conv2dNormActivation, SqueezeExcitation, …): its steps are
   * recorded for lowering and counting, but only its output is a node, named `path`.
   */
  leaf(path: string, body: () => Value): Value {
    if (this.leafPath !== undefined) return body();
    this.leafPath = path;
    let output: Value;
    try {
      output = body();
    } finally {
      this.leafPath = undefined;
    }
    const last = this.nodes.length - 1;
    if (this.nodes[last]?.name !== output) throw new Error(`leaf ${path}: its output must be its last step`);
    const named = this.push(path, this.nodes[last]!.op, this.nodes[last]!.inputs, this.nodes[last]!.state, true);
    this.nodes.splice(last, 1);
    return named;
  }

  /**
   * A module that runs only in training mode (GoogLeNet's and Inception v3's auxiliary
   * classifiers): absent from torchvision's eval-mode graph, but its weights are in the state
   * dict, at this point of its order. `build` composes it on a scratch graph to name them; here it
   * is one hidden step that holds them and that nothing reads.
   */
  trainingOnly(path: string, build: (scratch: GraphBuilder, input: Value) => unknown): void {
    const scratch = new GraphBuilder(path);
    build(scratch, scratch.input());
    const state = scratch.nodes.flatMap((node) => node.state);
    this.pushHidden(path, { kind: "training_only", module: path }, [], state);
  }

  private pushHidden(base: string, op: Operation, inputs: readonly Value[], state: readonly StateEntry[]): Value {
    const name = `${base}#${this.hiddenCount++}`;
    this.nodes.push({ name, visible: false, op, inputs: [...inputs], state: [...state] });
    return name;
  }

  finish(output: Value): BackboneGraph {
    return { name: this.network, nodes: this.nodes, output };
  }

  private push(
    base: string,
    op: Operation,
    inputs: readonly Value[],
    state: readonly StateEntry[],
    forceVisible = false,
  ): Value {
    const visible = forceVisible || this.leafPath === undefined;
    const name = visible ? this.uniqueName(base) : `${base}#${this.hiddenCount++}`;
    // Copies: callers may keep growing the arrays they passed (DenseNet's list of features).
    this.nodes.push({ name, visible, op, inputs: [...inputs], state: [...state] });
    return name;
  }

  private uniqueName(base: string): string {
    const previous = this.lastIndex.get(base);
    this.lastIndex.set(base, previous === undefined ? 0 : previous + 1);
    return previous === undefined ? base : `${base}_${previous + 1}`;
  }
}

/** A family's networks by name; each builds its graph on call. */
export type NetworkTable = Readonly<Record<string, () => BackboneGraph>>;

/** A family's size variants as data: one row (network name → configuration) per network. */
export function variants<C>(build: (name: string, config: C) => BackboneGraph, rows: Readonly<Record<string, C>>): NetworkTable {
  return Object.fromEntries(Object.entries(rows).map(([name, config]) => [name, () => build(name, config)]));
}
