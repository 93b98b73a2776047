/**
 * FPN levels are expected 2× apart in stride: the top-down path upsamples by the lateral's size,
 * and the anchor and RoI level mappers assume one octave per level. Other ratios work but are
 * unusual enough to deserve a warning.
 */
import type { Rule } from "../rule.js";

export const fpnLevelsDouble: Rule = {
  code: "W016",
  name: "fpn-levels-double",
  severity: "warning",
  check({ detector, report }) {
    if (!detector.statements.fpn) return;
    const taps = detector.levels.filter((l) => !l.extra);
    for (let i = 1; i < taps.length; i++) {
      const [previous, current] = [taps[i - 1]!, taps[i]!];
      if (current.stride <= previous.stride || current.stride === previous.stride * 2) continue;
      report({
        message: `FPN levels \`${previous.name}\` (stride ${previous.stride}) and \`${current.name}\` (stride ${current.stride}) are ${current.stride / previous.stride}× apart, not 2×`,
        primary: { span: detector.taps[i]!.id.span, message: `stride ${current.stride}` },
        secondary: [{ span: detector.taps[i - 1]!.id.span, message: `stride ${previous.stride}` }],
        expected: `stride ${previous.stride * 2}`,
        found: `stride ${current.stride}`,
        hint: "tap one node per stride (`detc taps` lists strides) so each level is one octave",
      });
    }
  },
};
