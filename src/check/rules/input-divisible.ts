/**
 * Inputs are padded to a multiple of 32 (torchvision's size_divisible), so every tap up to stride
 * 32 tiles the padded image exactly; an input that is not a multiple computes on padding. Legal,
 * and worth a note saying what actually happens.
 */
import type { Rule } from "../rule.js";
import { SIZE_DIVISIBLE } from "../../util/torchvision.js";

export const inputDivisible: Rule = {
  code: "I018",
  name: "input-divisible",
  severity: "info",
  check({ detector, report }) {
    const input = detector.statements.input;
    const { height, width, paddedHeight, paddedWidth } = detector.input;
    if (!input || (height === paddedHeight && width === paddedWidth) || height <= 0 || width <= 0) return;
    report({
      message: `input ${height}×${width} is padded to ${paddedHeight}×${paddedWidth} (a multiple of ${SIZE_DIVISIBLE})`,
      primary: { span: input.span, message: `padded to ${paddedHeight}×${paddedWidth}` },
      hint: `use a multiple of ${SIZE_DIVISIBLE} to avoid computing on padding`,
    });
  },
};
