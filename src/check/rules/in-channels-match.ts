/**
 * A written `in_channels` list (torchvision's FPN `in_channels_list`) has one entry per tap, each
 * equal to that tap's inferred channels: the error torchvision reports only at the first forward
 * pass as "expected input … to have 96 channels, but got 128".
 */
import type { Rule } from "../rule.js";
import { list, plural } from "../describe.js";

export const inChannelsMatch: Rule = {
  code: "E021",
  name: "in-channels-match",
  severity: "error",
  check({ detector, report }) {
    const statement = detector.statements.inChannels;
    if (!statement || detector.levels.length === 0) return;
    const taps = detector.levels.filter((level) => !level.extra).map((level) => level.channels);
    const fix = `write \`in_channels ${list(taps)}\` or drop the line (detc infers it)`;
    if (statement.values.length !== taps.length) {
      report({
        message: `\`in_channels\` lists ${plural(statement.values.length, "value")} but there ${taps.length === 1 ? "is" : "are"} ${plural(taps.length, "tap")}`,
        primary: { span: statement.span, message: `${statement.values.length} values` },
        secondary: [{ span: detector.statements.tap!.span, message: plural(taps.length, "tap") }],
        expected: list(taps),
        found: list(statement.values.map((v) => v.raw)),
        hint: fix,
      });
      return;
    }
    statement.values.forEach((value, i) => {
      if (value.value === taps[i]) return;
      const tap = detector.taps[i]!;
      report({
        message: `\`in_channels\` says ${value.raw} for \`${tap.id.value}\`, which has ${taps[i]} channels`,
        primary: { span: value.span, message: `inferred ${taps[i]}` },
        secondary: [{ span: tap.id.span, message: `${taps[i]} channels` }],
        expected: String(taps[i]),
        found: value.raw,
        hint: fix,
      });
    });
  },
};
