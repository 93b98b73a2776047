/** A tap is a spatial feature map (N×C×H×W with a stride), not a pooled vector or a logit. */
import { describeType } from "../describe.js";
import type { Rule } from "../rule.js";

export const tapsAreFeatureMaps: Rule = {
  code: "E013",
  name: "taps-are-feature-maps",
  severity: "error",
  check({ detector, report }) {
    for (const tap of detector.taps) {
      if (!tap.node || !tap.type) continue;
      if (tap.type.layout === "nchw" && tap.type.stride !== null && tap.type.shape.length === 4) continue;
      report({
        message: `\`${tap.id.value}\` is not a feature map`,
        primary: { span: tap.id.span, message: `gives ${describeType(tap.type)}` },
        expected: "a channels-first map with a stride (N×C×H×W)",
        found:
          tap.type.layout === "nhwc" ? "a channels-last tensor inside a block" : `shape [${tap.type.shape.join(", ")}]`,
        hint: "tap a node before global pooling, e.g. the output of a stage (`detc taps` lists them)",
      });
    }
  },
};
