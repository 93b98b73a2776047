/** No feature map is tapped twice, even under two names (`layer3` and `layer3.5.relu_2`). */
import type { Rule } from "../rule.js";

export const uniqueTaps: Rule = {
  code: "E012",
  name: "unique-taps",
  severity: "error",
  check({ detector, report }) {
    const firstByNode = new Map<string, (typeof detector.taps)[number]>();
    for (const tap of detector.taps) {
      if (!tap.node) continue;
      const first = firstByNode.get(tap.node.name);
      if (!first) {
        firstByNode.set(tap.node.name, tap);
        continue;
      }
      const same = first.id.value === tap.id.value;
      report({
        message: same
          ? `\`${tap.id.value}\` is tapped twice`
          : `\`${tap.id.value}\` and \`${first.id.value}\` are the same node (\`${tap.node.name}\`)`,
        primary: { span: tap.id.span, message: "tapped again here" },
        secondary: [{ span: first.id.span, message: "first tapped here" }],
        hint: "remove the repeated tap",
      });
    }
  },
};
