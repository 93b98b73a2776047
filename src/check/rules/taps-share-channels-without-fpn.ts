/**
 * Without an FPN the RPN and RoI heads are shared across every tapped map, so all maps must
 * have the same channels (torchvision's `backbone.out_channels` is a single number).
 */
import type { Rule } from "../rule.js";
import { list } from "../describe.js";

export const tapsShareChannelsWithoutFpn: Rule = {
  code: "E014",
  name: "taps-share-channels-without-fpn",
  severity: "error",
  check({ detector, report }) {
    const tap = detector.statements.tap;
    if (!tap || detector.statements.fpn || detector.levels.length < 2) return;
    const channels = detector.levels.map((l) => l.channels);
    if (channels.every((c) => c === channels[0])) return;
    report({
      message: `${detector.levels.length} taps with different channels (${list(channels)}) need an FPN`,
      primary: { span: tap.span, message: `channels ${list(channels)}` },
      expected: "one tap, or taps with equal channels, or an `fpn` statement",
      found: detector.levels.map((l) => `${l.name}: ${l.channels} ch`).join(", "),
      hint: "add `fpn 256 extra maxpool` to map every level to 256 channels, or keep a single tap",
    });
  },
};
