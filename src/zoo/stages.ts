/**
 * A backbone's stages: the units `trainable N` counts (torchvision's `trainable_layers`). The last
 * N stages up to the deepest tap train; earlier ones are frozen.
 *
 * Stages are derived from the graph, not listed per network: a stage starts where the resolution
 * halves, at the largest module that holds that downsampling and nothing coarser or finer than its
 * two resolutions (so a ResNet stage starts at `layer2`, not at the strided `layer2.0.conv2`, and a
 * MobileNet stage at its strided block `features.4`, not at that block's depthwise conv).
 *
 * How this relates to torchvision's per-family `trainable_layers`:
 * - ResNet family (`_resnet_fpn_extractor`): the same five units, `conv1`+`bn1` | `layer1` | … |
 *   `layer4` (ours put the parameter-free `maxpool` with `layer1`). torchvision always counts from
 *   `layer4`; we count from the deepest tap, so with a `layer3` tap `trainable 3` trains
 *   `layer1`–`layer3` here where torchvision would train `layer2`–`layer3` (`layer4` being unused).
 * - MobileNet v2/v3 (`_mobilenet_extractor`): torchvision's stages start at `features.0`, at every
 *   strided block, and at the last 1×1 conv, which is a stage of its own. Ours are the same except
 *   that last conv stays in the final stride group, so torchvision's `trainable_layers=k` (k ≥ 2,
 *   tapping the last conv) is our `trainable k-1`.
 * - EfficientNet, RegNet, VGG, ConvNeXt: torchvision has no detection extractor for them; their
 *   stages are their stride groups (`features.4…features.5` for EfficientNet-B0's stride-16 group).
 */
import { ancestors, resolveTap, stateEntries, type BackboneGraph, type GraphNode } from "./graph.js";
import { inferTypes } from "./infer.js";

export interface Stage {
  /** The modules it spans: `layer2`, `maxpool…layer1`, `features.4…features.6`. */
  readonly name: string;
  /** Cumulative stride of its output. */
  readonly stride: number;
  /** Its steps (visible and hidden) among those the taps need, in execution order. */
  readonly nodes: readonly string[];
  /** The state-dict entries those steps read. */
  readonly stateKeys: readonly string[];
}

/** Strides do not depend on the input size; any size every network accepts will do. */
const PROBE_SIZE = [224, 224] as const;

/** The module path a step belongs to: hidden steps carry `#<n>` after it. */
const modulePath = (node: GraphNode) => node.name.replace(/#\d+$/, "");

const isInside = (path: string, module: string) => path === module || path.startsWith(module + ".");

/** Proper dotted prefixes of `path` and itself, shortest first. */
function enclosingModules(path: string): string[] {
  const parts = path.split(".");
  return parts.map((_, i) => parts.slice(0, i + 1).join("."));
}

interface StageStart {
  /** Index in `graph.nodes` of the stage's first step. */
  readonly index: number;
  /** The module the stage starts with (`layer2`, `features.4`). */
  readonly module: string;
}

/** Where stages start, in execution order; the first stage (from the input) is implicit. */
function stageStarts(graph: BackboneGraph, strideOf: (node: GraphNode) => number | null): StageStart[] {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const starts = new Map<number, string>();
  for (const node of graph.nodes) {
    const out = strideOf(node);
    const inputStrides = node.inputs.map((i) => strideOf(byName.get(i)!)).filter((s): s is number => s !== null);
    if (out === null || inputStrides.length === 0) continue;
    const from = Math.max(...inputStrides);
    if (out <= from) continue;
    // The largest module around this downsampling step that only runs at its two resolutions.
    const module = enclosingModules(modulePath(node)).find((m) =>
      graph.nodes.every((n) => {
        const s = strideOf(n);
        return !isInside(modulePath(n), m) || s === null || s === from || s === out;
      }),
    )!;
    const index = graph.nodes.findIndex((n) => isInside(modulePath(n), module));
    // A stage holding nothing but the input is no stage.
    if (index > 1) starts.set(index, module);
  }
  return [...starts].map(([index, module]) => ({ index, module })).sort((a, b) => a.index - b.index);
}

/** `conv1…relu`: its first and last module at the depth of the stage's starting module. */
function stageName(nodes: readonly GraphNode[], depth: number): string {
  // Hidden steps would name a leaf module's insides (`stem.0`) instead of the leaf (`stem`).
  const units = nodes
    .filter((n) => n.visible)
    .map((n) => n.name.split(".").slice(0, depth).join("."));
  const first = units[0]!;
  const last = units[units.length - 1]!;
  return first === last ? first : `${first}…${last}`;
}

/**
 * The stages of `graph` up to the deepest of `upTo` (taps: node names or module paths), each
 * restricted to the steps those taps need. Throws on a tap that is not in the graph.
 */
export function stages(graph: BackboneGraph, upTo: readonly string[]): Stage[] {
  const taps = upTo.map((path) => {
    const node = resolveTap(graph, path);
    if (!node) throw new Error(`${graph.name} has no node or module \`${path}\``);
    return node.name;
  });
  const types = inferTypes(graph, PROBE_SIZE);
  const strideOf = (node: GraphNode) => types.get(node.name)!.stride;
  const starts = stageStarts(graph, strideOf);
  const bounds = [0, ...starts.map((s) => s.index), graph.nodes.length];
  const needed = new Set(ancestors(graph, taps).map((n) => n.name));
  // Stage k > 0 is named at the depth of its starting module; the first, at the second's.
  const depth = (k: number) => starts[Math.max(0, k - 1)]?.module.split(".").length ?? 1;

  const result: Stage[] = [];
  for (let k = 0; k + 1 < bounds.length; k++) {
    // The input belongs to no stage: it has no state and nothing to freeze.
    const kept = graph.nodes.slice(bounds[k], bounds[k + 1]).filter((n) => needed.has(n.name) && n.op.kind !== "input");
    if (kept.length === 0) continue;
    const strides = kept.map(strideOf).filter((s): s is number => s !== null);
    result.push({
      name: stageName(kept, depth(k)),
      stride: Math.max(...strides),
      nodes: kept.map((n) => n.name),
      stateKeys: stateEntries(kept).map((e) => e.key),
    });
  }
  return result;
}
