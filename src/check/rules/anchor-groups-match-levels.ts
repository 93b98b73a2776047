/**
 * One anchor size group per feature map the RPN sees: every tap, plus the FPN's extra max-pool
 * level. torchvision checks this only at the first forward pass ("Anchors should be
 * Tuple[Tuple[int]] because each feature map could potentially have different sizes…").
 */
import type { Rule } from "../rule.js";
import { plural } from "../describe.js";

export const anchorGroupsMatchLevels: Rule = {
  code: "E030",
  name: "anchor-groups-match-levels",
  severity: "error",
  check({ detector, report }) {
    const anchors = detector.statements.anchors;
    const tap = detector.statements.tap;
    if (!anchors || !tap || anchors.sizes.length === 0) return;
    const taps = detector.taps.length;
    const extra = detector.statements.fpn?.extra ? 1 : 0;
    const maps = taps + extra;
    const groups = anchors.sizes.length;
    if (groups === maps) return;
    const counted = extra ? `${plural(taps, "tap")} + the extra max-pool level` : plural(taps, "tap");
    const flat = anchors.sizes.every((g) => !g.grouped);
    const allSizes = anchors.sizes.flatMap((g) => g.sizes.map((s) => s.value));
    let hint: string;
    if (maps === 1) hint = `group the sizes in parentheses for the single map: \`sizes (${allSizes.join(", ")})\``;
    else if (flat && groups > maps) hint = `a flat list gives one size per level; write ${maps} sizes, e.g. \`sizes ${allSizes.slice(0, maps).join(", ")}\``;
    else hint = `write ${maps} size groups, one per feature map (a flat list \`sizes a, b, …\` gives one size per level)`;
    // Surplus groups are the offending text; when groups are missing, it is the whole list.
    const underlined = groups > maps ? anchors.sizes.slice(maps) : anchors.sizes;
    const fpnExtra = detector.statements.fpn?.extra;
    report({
      message: `${plural(groups, "anchor size group")} for ${plural(maps, "feature map")} (${counted})`,
      primary: {
        span: { start: underlined[0]!.span.start, end: underlined.at(-1)!.span.end },
        message: groups > maps ? `${groups - maps} more than the ${plural(maps, "feature map")}` : `${groups} ${flat ? "sizes, one level each" : "groups"}`,
      },
      secondary: [
        { span: tap.span, message: plural(taps, "tap") },
        ...(fpnExtra ? [{ span: fpnExtra.span, message: "one more level" }] : []),
      ],
      expected: `${maps} groups`,
      found: `${groups}`,
      hint,
    });
  },
};
