/**
 * `classes N` counts the background class like torchvision's `num_classes` (so at least 2), and
 * class names are distinct and non-empty (the background is added, not written).
 */
import type { Rule } from "../rule.js";

export const classesValid: Rule = {
  code: "E060",
  name: "classes-valid",
  severity: "error",
  check({ detector, report }) {
    const classes = detector.statements.classes;
    if (!classes) return;
    const count = classes.count;
    if (count && Number.isFinite(count.value) && (!Number.isSafeInteger(count.value) || count.value < 2)) {
      report({
        message: `\`classes ${count.raw}\` must count at least one object class plus the background`,
        primary: { span: count.span, message: "counts the background too" },
        expected: "a whole number ≥ 2 (and below 2^53)",
        found: count.raw,
        hint: "`classes N` is torchvision's num_classes: object classes + 1 (21 for VOC's 20); or list names: `classes \"cat\", \"dog\"`",
      });
    }
    const names = classes.names ?? [];
    const firstByName = new Map<string, (typeof names)[number]>();
    for (const name of names) {
      const first = firstByName.get(name.value);
      if (!first) firstByName.set(name.value, name);
      if (name.value.trim() === "") {
        report({ message: "a class name is empty", primary: { span: name.span, message: "empty" }, hint: "remove it" });
      } else if (first) {
        report({
          message: `class \`${name.value}\` is listed twice`,
          primary: { span: name.span, message: "repeated" },
          secondary: [{ span: first.span, message: "first listed here" }],
          hint: "each class name once",
        });
      } else if (name.value.toLowerCase() === "background" || name.value === "__background__") {
        report({
          message: "the background class is added by detc; do not list it",
          primary: { span: name.span, message: "implicit" },
          hint: "list only object classes",
        });
      }
    }
  },
};
