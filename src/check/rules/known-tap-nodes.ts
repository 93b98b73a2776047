/**
 * Every tap names a node (or a module path) of the backbone's graph, exactly as torchvision's
 * `get_graph_node_names` spells it. An unknown name lists the nearest valid ones with the
 * stride and channels a user would have printed the model to find.
 */
import { modulePaths, nodeNames } from "../../zoo/graph.js";
import { describeType } from "../describe.js";
import type { Rule } from "../rule.js";
import { suggester } from "../suggest.js";

export const knownTapNodes: Rule = {
  code: "E011",
  name: "known-tap-nodes",
  severity: "error",
  check({ detector, report }) {
    const { graph, backbone } = detector;
    if (!graph || !backbone) return;
    if (detector.taps.every((tap) => tap.node)) return;
    const nearestTaps = suggester([...modulePaths(graph), ...nodeNames(graph).slice(1)], 4);
    for (const tap of detector.taps) {
      if (tap.node) continue;
      const nearest = nearestTaps(tap.id.value);
      const described = nearest.map((name) => {
        const node = detector.taps.find((t) => t.id.value === name)?.node;
        const type = detector.types?.get(node?.name ?? resolveName(name));
        return `${name} (${describeType(type)})`;
      });
      report({
        message: `\`${tap.id.value}\` is not a node of ${backbone.name}`,
        primary: { span: tap.id.span, message: `unknown in ${backbone.name}` },
        expected: `a node or module path of ${backbone.name}`,
        found: tap.id.value,
        hint:
          described.length > 0
            ? `nearest valid taps: ${described.join(", ")}`
            : `run \`detc taps ${backbone.name}\` to list every tap with its stride and channels`,
      });
    }

    function resolveName(name: string): string {
      const nodes = graph!.nodes.filter((n) => n.visible && (n.name === name || n.name.startsWith(name + ".")));
      return nodes[nodes.length - 1]?.name ?? name;
    }
  },
};
