/** The backbone is one the zoo describes; a typo gets the nearest names. */
import { backbones } from "../../zoo/index.js";
import type { Rule } from "../rule.js";
import { didYouMean, suggestionList } from "../suggest.js";

export const knownBackbone: Rule = {
  code: "E010",
  name: "known-backbone",
  severity: "error",
  check({ detector, report }) {
    const name = detector.statements.backbone?.name;
    if (!name || detector.backbone) return;
    const names = backbones.map((b) => b.name);
    report({
      message: `unknown backbone \`${name.value}\``,
      primary: { span: name.span, message: "not in the zoo" },
      expected: `one of ${names.join(", ")}`,
      found: name.value,
      hint: didYouMean(suggestionList(name.value, names)) ?? "run `detc backbones` to list them",
    });
  },
};
