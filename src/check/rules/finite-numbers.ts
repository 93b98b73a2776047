/**
 * Every number written is one a float64 holds: `1e309` would be read as Infinity, which no size,
 * count or rate means, and which JSON cannot carry. Rules that judge a number's value leave such
 * numbers to this one.
 */
import type * as ast from "../../language/ast.js";
import type { Rule } from "../rule.js";

function numbersOf(statement: ast.Statement): (ast.NumberLiteral | undefined)[] {
  switch (statement.kind) {
    case "Backbone":
      return [statement.trainable];
    case "Fpn":
      return [statement.channels];
    case "Anchors":
      return [...statement.sizes.flatMap((group) => group.sizes), ...statement.ratios];
    case "Roi":
      return [statement.outputSize, statement.samplingRatio];
    case "Classes":
      return [statement.count];
    case "OutChannels":
      return [statement.value];
    case "InChannels":
      return [...statement.values];
    case "Input":
      return statement.form === "square" ? [statement.size] : statement.form === "exact" ? [statement.height, statement.width] : [statement.min, statement.max];
    case "Settings":
      return statement.settings.flatMap((setting) => setting.values.filter((v): v is ast.NumberLiteral => v.kind === "Number"));
    case "Tap":
    case "Dataset":
      return [];
  }
}

export const finiteNumbers: Rule = {
  code: "E034",
  name: "finite-numbers",
  severity: "error",
  check({ detector, report }) {
    for (const statement of detector.detector.statements) {
      for (const literal of numbersOf(statement)) {
        if (!literal || Number.isFinite(literal.value)) continue;
        report({
          message: `\`${literal.raw}\` is too large to be a number`,
          primary: { span: literal.span, message: "beyond the largest number (about 1.8e308)" },
          expected: "a finite number",
          found: literal.raw,
          hint: "write the value meant; sizes, counts and rates are all far smaller",
        });
      }
    }
  },
};
