/**
 * `train`, `rpn` and `box` settings are known keys (torchvision's argument names) with values of
 * the right kind and range, each written once.
 */
import type * as ast from "../../language/ast.js";
import type { Rule } from "../rule.js";
import { isSection, SETTINGS, type SettingSpec } from "../settings.js";
import { didYouMean, suggestionList } from "../suggest.js";

function valueProblem(spec: SettingSpec, values: ast.Setting["values"]): string | undefined {
  const numbers = values.filter((v): v is ast.NumberLiteral => v.kind === "Number");
  if (numbers.some((n) => !Number.isFinite(n.value))) return undefined; // E034's to report
  switch (spec.type) {
    case "boolean":
      return values.length === 1 && values[0]?.kind === "Identifier" && ["true", "false"].includes(values[0].value)
        ? undefined
        : "`true` or `false`";
    case "integers":
      if (numbers.length !== values.length || numbers.some((n) => !Number.isInteger(n.value))) return "whole numbers";
      if (numbers.some((n) => !Number.isSafeInteger(n.value))) return "whole numbers below 2^53";
      break;
    case "integer":
    case "number":
      if (values.length !== 1 || numbers.length !== 1) return spec.type === "integer" ? "one whole number" : "one number";
      if (spec.type === "integer" && !Number.isInteger(numbers[0]!.value)) return "a whole number";
      if (spec.type === "integer" && !Number.isSafeInteger(numbers[0]!.value)) return "a whole number below 2^53";
  }
  const outside = numbers.find((n) => (spec.min !== undefined && n.value < spec.min) || (spec.max !== undefined && n.value > spec.max));
  if (outside) return `${spec.min !== undefined ? `≥ ${spec.min}` : ""}${spec.min !== undefined && spec.max !== undefined ? " and " : ""}${spec.max !== undefined ? `≤ ${spec.max}` : ""}`;
  return undefined;
}

export const knownSettings: Rule = {
  code: "E070",
  name: "known-settings",
  severity: "error",
  check({ detector, report }) {
    const seen = new Map<string, ast.Setting>();
    for (const statement of detector.detector.statements) {
      if (statement.kind !== "Settings" || !isSection(statement.section.value)) continue;
      const section = statement.section.value;
      const known = SETTINGS[section];
      for (const setting of statement.settings) {
        const key = setting.key.value;
        const spec = known[key];
        if (!spec) {
          report({
            message: `unknown ${section} setting \`${key}\``,
            primary: { span: setting.key.span, message: `not a ${section} setting` },
            expected: Object.keys(known).join(", "),
            found: key,
            hint: didYouMean(suggestionList(key, Object.keys(known))),
          });
          continue;
        }
        const first = seen.get(`${section}.${key}`);
        if (first) {
          report({
            message: `${section} setting \`${key}\` is written twice`,
            primary: { span: setting.span, message: "again here" },
            secondary: [{ span: first.span, message: "first here" }],
          });
        }
        seen.set(`${section}.${key}`, setting);
        const problem = valueProblem(spec, setting.values);
        if (problem) {
          report({
            message: `${section} setting \`${key}\` needs ${problem}`,
            primary: { span: setting.span, message: spec.doc },
            expected: problem,
            found: setting.values.map((v) => ("raw" in v ? v.raw : v.value)).join(", ") || "nothing",
            hint: `torchvision's default is ${JSON.stringify(spec.default)}`,
          });
        }
      }
    }
  },
};
