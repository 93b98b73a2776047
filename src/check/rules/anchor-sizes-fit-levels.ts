/**
 * Anchors a level can use: a size below the level's stride leaves gaps between anchor centres
 * wider than the anchor, and a size far beyond the level's receptive field asks one cell to
 * box an object it cannot see. Both train, badly; both are warnings.
 */
import type { Rule } from "../rule.js";

/** How far beyond the theoretical receptive field a size may go (it overstates what a cell sees). */
const RECEPTIVE_FIELD_SLACK = 3;

export const anchorSizesFitLevels: Rule = {
  code: "W033",
  name: "anchor-sizes-fit-levels",
  severity: "warning",
  check({ detector, report }) {
    const anchors = detector.statements.anchors;
    if (!anchors || anchors.sizes.length !== detector.levels.length) return;
    anchors.sizes.forEach((group, i) => {
      const level = detector.levels[i]!;
      for (const size of group.sizes) {
        if (!Number.isFinite(size.value)) continue;
        if (size.value > 0 && size.value < level.stride) {
          report({
            message: `anchor size ${size.raw} is smaller than the stride ${level.stride} of level \`${level.name}\``,
            primary: { span: size.span, message: `< stride ${level.stride}` },
            expected: `sizes ≥ ${level.stride} on this level`,
            found: size.raw,
            hint: "objects this small fall between anchor centres; tap a finer level for them",
          });
        } else if (!level.extra && level.receptiveField !== null && size.value > RECEPTIVE_FIELD_SLACK * level.receptiveField) {
          report({
            message: `anchor size ${size.raw} is far beyond the receptive field (${level.receptiveField} px) of level \`${level.name}\``,
            primary: { span: size.span, message: `receptive field ${level.receptiveField}` },
            expected: `sizes ≤ ${RECEPTIVE_FIELD_SLACK * level.receptiveField} on this level`,
            found: size.raw,
            hint: "tap a deeper level (or add the FPN's extra level) for objects this large",
          });
        }
      }
    });
  },
};
