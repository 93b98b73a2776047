/**
 * A written `out_channels` (torchvision's `backbone.out_channels`, what the RPN and RoI heads see)
 * agrees with inference: the FPN's width, or the tapped map's channels without one.
 */
import type { Rule } from "../rule.js";

export const outChannelsMatch: Rule = {
  code: "E020",
  name: "out-channels-match",
  severity: "error",
  check({ detector, report }) {
    const written = detector.statements.outChannels?.value;
    const expected = detector.headChannels;
    if (!written || expected === undefined || detector.levels.length === 0 || written.value === expected) return;
    const fpn = detector.statements.fpn;
    const source = fpn ? `the FPN's width (\`fpn ${expected}\`)` : `the channels of \`${detector.levels[0]!.name}\``;
    report({
      message: `\`out_channels ${written.raw}\` disagrees with the backbone: the heads see ${expected} channels`,
      primary: { span: written.span, message: `inferred ${expected}` },
      secondary: fpn?.channels ? [{ span: fpn.channels.span, message: "set here" }] : undefined,
      expected: String(expected),
      found: written.raw,
      hint: `out_channels is ${source}; write \`out_channels ${expected}\` or drop the line (detc infers it)`,
    });
  },
};
