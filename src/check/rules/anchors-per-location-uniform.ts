/**
 * The RPN head is one conv shared by every level, predicting A anchors per location, so every
 * level has the same sizes × ratios count. torchvision fails at run time with "shape '[…, -1]'
 * is invalid for input of size …" when it does not.
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
    const counts = anchors.sizes.map((g) => g.sizes.length * ratios);
    const first = anchors.sizes[0]!;
    anchors.sizes.forEach((group, i) => {
      if (counts[i] === counts[0]) return;
      report({
        message: `level ${i + 1} has ${counts[i]} anchors per location but level 1 has ${counts[0]}; the shared RPN head needs one count`,
        primary: { span: group.span, message: `${group.sizes.length} sizes × ${ratios} ratios = ${counts[i]}` },
        secondary: [{ span: first.span, message: `${first.sizes.length} sizes × ${ratios} ratios = ${counts[0]}` }],
        expected: `${first.sizes.length} sizes in every group`,
        found: `${group.sizes.length}`,
        hint: "give every level the same number of sizes",
      });
    });
  },
};
