/**
 * A single map at stride 32 or coarser sees objects smaller than ~32 px as a fraction of one
 * cell: worth saying before a user spends a training run finding out.
 */
import type { Rule } from "../rule.js";

export const smallObjectsCoarseTap: Rule = {
  code: "W050",
  name: "small-objects-coarse-tap",
  severity: "warning",
  check({ detector, report }) {
    if (detector.statements.fpn || detector.levels.length !== 1) return;
    const level = detector.levels[0]!;
    if (level.stride < 32) return;
    report({
      message: `the only feature map, \`${level.name}\`, has stride ${level.stride}: small objects will be missed`,
      primary: { span: detector.taps[0]!.id.span, message: `stride ${level.stride}` },
      hint: "tap a stride-16 node (as the seed examples do), or add more taps with `fpn 256 extra maxpool`",
    });
  },
};
