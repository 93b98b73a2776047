/** Detector names are unique within a file: commands and outputs refer to detectors by name. */
import type { DetectorAnalysis } from "../analysis.js";
import type { Rule } from "../rule.js";

/** The first detector of each name, per file: built once, not searched again for every detector. */
const firstByName = new WeakMap<readonly DetectorAnalysis[], ReadonlyMap<string, DetectorAnalysis>>();

function firstOfName(file: readonly DetectorAnalysis[], name: string): DetectorAnalysis | undefined {
  let firsts = firstByName.get(file);
  if (!firsts) {
    const map = new Map<string, DetectorAnalysis>();
    for (const d of file) if (!map.has(d.name)) map.set(d.name, d);
    firstByName.set(file, (firsts = map));
  }
  return firsts.get(name);
}

export const uniqueDetectorNames: Rule = {
  code: "E004",
  name: "unique-detector-names",
  severity: "error",
  check({ detector, file, report }) {
    const first = firstOfName(file, detector.name);
    if (!detector.detector.name || first === detector || !first?.detector.name) return;
    report({
      message: `detector name \`${detector.name}\` is already used in this file`,
      primary: { span: detector.detector.name.span, message: "used again here" },
      secondary: [{ span: first.detector.name.span, message: "first used here" }],
      hint: "give each detector its own name",
    });
  },
};
