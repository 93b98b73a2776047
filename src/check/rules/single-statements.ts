/** Each statement kind appears once per detector, so the spec never says two things at once. */
import type { Rule } from "../rule.js";

export const singleStatements: Rule = {
  code: "E003",
  name: "single-statements",
  severity: "error",
  check({ detector, report }) {
    for (const { statement, first } of detector.repeated) {
      const keyword = first.kind.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
      report({
        message: `\`${keyword}\` is written twice in detector \`${detector.name}\``,
        primary: { span: statement.span, message: "second one here" },
        secondary: [{ span: first.span, message: "first one here" }],
        hint: "keep one of them (statements of a kind are not merged)",
      });
    }
  },
};
