/**
 * The RPN head is one conv shared by every level, predicting A anchors per location, so every
 * level has the same sizes × ratios count. torchvision fails at run time with "shape '[…, -1]'
 * is invalid for input of size …" when it does not. The count most groups have is taken as
 * meant, so the diagnostics underline the groups that differ from it, not the first group.
 */
import type { Rule } from "../rule.js";

export const anchorsPerLocationUniform: Rule = {
  code: "E031",
  name: "anchors-per-location-uniform",
  severity: "error",
  check({ detector, report }) {
    const anchors = detector.statements.anchors;
    if (!anchors || anchors.sizes.length < 2) return;
    const ratios = Math.max(anchors.ratios.length, 1);
    const groupsBySize = new Map<number, number>();
    for (const group of anchors.sizes) groupsBySize.set(group.sizes.length, (groupsBySize.get(group.sizes.length) ?? 0) + 1);
    // Ties go to the count written first.
    let meant = anchors.sizes[0]!.sizes.length;
    for (const [size, groups] of groupsBySize) if (groups > groupsBySize.get(meant)!) meant = size;
    const example = anchors.sizes.find((group) => group.sizes.length === meant)!;
    const exampleLevel = anchors.sizes.indexOf(example) + 1;
    anchors.sizes.forEach((group, i) => {
      if (group.sizes.length === meant) return;
      const count = group.sizes.length * ratios;
      report({
        message: `level ${i + 1} has ${count} anchors per location but level ${exampleLevel} has ${meant * ratios}; the shared RPN head needs one count`,
        primary: { span: group.span, message: `${group.sizes.length} sizes × ${ratios} ratios = ${count}` },
        secondary: [{ span: example.span, message: `${meant} sizes × ${ratios} ratios = ${meant * ratios}` }],
        expected: `${meant} sizes in every group`,
        found: `${group.sizes.length}`,
        hint: "give every level the same number of sizes",
      });
    });
  },
};
