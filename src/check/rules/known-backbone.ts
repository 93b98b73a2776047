/**
 * The backbone is one the zoo describes. A torchvision network detc knows but cannot use gets
 * the reason and what to use instead; a typo gets the nearest names.
 */
import { backbones } from "../../zoo/index.js";
import { findUnsupportedBackbone, unsupportedBackbones } from "../../zoo/unsupported.js";
import type { Rule } from "../rule.js";
import { didYouMean, suggestionList } from "../suggest.js";

/** "a, b or c", each in backticks. */
const alternatives = (names: readonly string[]) =>
  names.map((n) => `\`${n}\``).join(", ").replace(/, ([^,]*)$/, " or $1");

export const knownBackbone: Rule = {
  code: "E010",
  name: "known-backbone",
  severity: "error",
  check({ detector, report }) {
    const name = detector.statements.backbone?.name;
    if (!name || detector.backbone) return;
    const unsupported = findUnsupportedBackbone(name.value);
    if (unsupported) {
      report({
        message: `\`${name.value}\` cannot be a backbone: ${unsupported.reason}`,
        primary: { span: name.span, message: `torchvision ${unsupported.family}, not supported` },
        hint: `use ${alternatives(unsupported.instead)} instead`,
      });
      return;
    }
    const names = backbones.map((b) => b.name);
    report({
      message: `unknown backbone \`${name.value}\``,
      primary: { span: name.span, message: "not in the zoo" },
      expected: `one of ${names.join(", ")}`,
      found: name.value,
      hint:
        didYouMean(suggestionList(name.value, [...names, ...unsupportedBackbones.map((b) => b.name)])) ??
        "run `detc backbones` to list them",
    });
  },
};
