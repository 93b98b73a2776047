/**
 * A tap is a spatial feature map with a stride (N×C×H×W, or channels-last N×H×W×C as in Swin,
 * handed on as N×C×H×W), not a pooled vector, a weight or a logit.
 */
import { featureMap } from "../../zoo/infer.js";
import { describeType } from "../describe.js";
import type { Rule } from "../rule.js";

export const tapsAreFeatureMaps: Rule = {
  code: "E013",
  name: "taps-are-feature-maps",
  severity: "error",
  check({ detector, report }) {
    for (const tap of detector.taps) {
      if (!tap.node || !tap.type) continue;
      if (featureMap(tap.type)) continue;
      report({
        message: `\`${tap.id.value}\` is not a feature map`,
        primary: { span: tap.id.span, message: `gives ${describeType(tap.type)}` },
        expected: "a map with a stride (N×C×H×W, or N×H×W×C in Swin's stages)",
        found: `shape [${tap.type.shape.join(", ")}]`,
        hint: "tap a node before global pooling, e.g. the output of a stage (`detc taps` lists them)",
      });
    }
  },
};
