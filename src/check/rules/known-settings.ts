/**
 * `train`, `rpn` and `box` settings are known keys (torchvision's argument names) with values of
 * the right kind and range, each written once.
 */
import type * as ast from "../../language/ast.js";
import type { Rule } from "../rule.js";
import { isSection, SETTINGS } from "../settings.js";
import { didYouMean, suggestionList } from "../suggest.js";

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
        const spec = known.get(key);
        if (!spec) {
          report({
            message: `unknown ${section} setting \`${key}\``,
            primary: { span: setting.key.span, message: `not a ${section} setting` },
            expected: [...known.keys()].join(", "),
            found: key,
            hint: didYouMean(suggestionList(key, [...known.keys()])),
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
        const reading = spec.read(setting.values);
        if ("expected" in reading) {
          const problem = reading.expected;
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
