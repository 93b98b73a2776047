/**
 * A detector names its backbone, what it taps and its classes: without them there is no model.
 * Everything else (FPN, anchors, RoI pooling, input size) has torchvision's defaults.
 */
import type { Rule } from "../rule.js";

const REQUIRED = [
  { slot: "backbone", example: "backbone resnet50" },
  { slot: "tap", example: "tap layer3" },
  { slot: "classes", example: "classes 21" },
] as const;

export const requiredStatements: Rule = {
  code: "E002",
  name: "required-statements",
  severity: "error",
  check({ detector, report }) {
    const at = detector.detector.name ?? detector.detector;
    for (const { slot, example } of REQUIRED) {
      if (detector.statements[slot] !== undefined) continue;
      report({
        message: `detector \`${detector.name}\` has no \`${slot}\` statement`,
        primary: { span: at.span, message: `needs \`${slot}\`` },
        hint: `add a line such as \`${example}\``,
      });
    }
  },
};
