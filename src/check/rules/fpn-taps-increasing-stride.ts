/**
 * An FPN's top-down path runs from the coarsest map to the finest, so taps are listed finest first:
 * a stride never decreases (torchvision's FeaturePyramidNetwork assumes this order silently).
 * Equal strides are legal: torchvision's own mobilenet FPN detectors tap two stride-32 nodes
 * (`features.13`, `features.16`), and the top-down path then adds a same-size map.
 */
import type { Rule } from "../rule.js";

export const fpnTapsIncreasingStride: Rule = {
  code: "E015",
  name: "fpn-taps-increasing-stride",
  severity: "error",
  check({ detector, report }) {
    if (!detector.statements.fpn || detector.levels.length < 2) return;
    const taps = detector.levels.filter((l) => !l.extra);
    for (let i = 1; i < taps.length; i++) {
      const [previous, current] = [taps[i - 1]!, taps[i]!];
      if (current.stride >= previous.stride) continue;
      const sorted = [...taps].sort((a, b) => a.stride - b.stride).map((l) => l.name);
      const ids = detector.taps.map((t) => t.id);
      report({
        message: `FPN taps are not in increasing stride: \`${current.name}\` (stride ${current.stride}) comes after \`${previous.name}\` (stride ${previous.stride})`,
        primary: { span: ids[i]!.span, message: `stride ${current.stride}` },
        secondary: [{ span: ids[i - 1]!.span, message: `stride ${previous.stride}` }],
        expected: "non-decreasing strides (finest map first)",
        found: taps.map((l) => `${l.name} (stride ${l.stride})`).join(", "),
        hint: `reorder: \`tap ${sorted.join(", ")}\``,
      });
      return;
    }
  },
};
