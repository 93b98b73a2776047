/** Detector names are unique within a file: commands and outputs refer to detectors by name. */
import type { Rule } from "../rule.js";

export const uniqueDetectorNames: Rule = {
  code: "E004",
  name: "unique-detector-names",
  severity: "error",
  check({ detector, file, report }) {
    const first = file.find((d) => d.name === detector.name);
    if (!detector.detector.name || first === detector || !first?.detector.name) return;
    report({
      message: `detector name \`${detector.name}\` is already used in this file`,
      primary: { span: detector.detector.name.span, message: "used again here" },
      secondary: [{ span: first.detector.name.span, message: "first used here" }],
      hint: "give each detector its own name",
    });
  },
};
