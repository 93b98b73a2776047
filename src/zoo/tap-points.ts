/** Every node of a backbone a spec can tap, with its type at an input size (what users print the model for). */
import { modulePaths, resolveTap, type BackboneGraph } from "./graph.js";
import { inferTypes, featureMap } from "./infer.js";

export interface TapPoint {
  readonly node: string;
  /** For a module path (`layer3`), the node it stands for (`layer3.5.relu_2`). */
  readonly resolvesTo?: string;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly stride: number;
}

/** Feature-map nodes (NCHW or channels-last, `featureMap`) in execution order, each followed by the module paths that resolve to it. Throws ShapeError when the input is too small. */
export function tapPoints(graph: BackboneGraph, input: readonly [number, number]): TapPoint[] {
  const types = inferTypes(graph, input);
  const byResolved = new Map<string, string[]>();
  for (const path of modulePaths(graph)) {
    const node = resolveTap(graph, path)!.name;
    byResolved.set(node, [...(byResolved.get(node) ?? []), path]);
  }
  const taps: TapPoint[] = [];
  for (const node of graph.nodes) {
    const type = types.get(node.name)!;
    const map = featureMap(type);
    if (!node.visible || node.op.kind === "input" || !map || type.stride === null) continue;
    const { channels, height, width } = map;
    taps.push({ node: node.name, channels, height, width, stride: type.stride });
    for (const path of byResolved.get(node.name) ?? [])
      taps.push({ node: path, resolvesTo: node.name, channels, height, width, stride: type.stride });
  }
  return taps;
}
