/**
 * RoI pooling reads levels that exist and that carry features: the taps, never the FPN's extra
 * max-pool level (torchvision's MultiScaleRoIAlign raises a KeyError for a featmap name it does
 * not find, and the pool level is for the RPN only).
 */
import type { Rule } from "../rule.js";
import { POOL_LEVEL } from "../analysis.js";
import { didYouMean, suggestionList } from "../suggest.js";

export const roiLevelsExist: Rule = {
  code: "E040",
  name: "roi-levels-exist",
  severity: "error",
  check({ detector, report }) {
    const levels = detector.statements.roi?.levels;
    if (!levels || detector.taps.length === 0) return;
    const tapNames = detector.taps.map((t) => t.id.value);
    const seen = new Set<string>();
    for (const level of levels) {
      const known = detector.taps.find((t) => t.id.value === level.value || t.node?.name === level.value);
      if (level.value === POOL_LEVEL) {
        report({
          message: "RoI pooling cannot use the extra max-pool level",
          primary: { span: level.span, message: "RPN-only level" },
          expected: `tapped levels: ${tapNames.join(", ")}`,
          found: POOL_LEVEL,
          hint: `the \`extra maxpool\` level only feeds the RPN; drop \`${POOL_LEVEL}\` (or the whole \`on\` clause to pool from every tap)`,
        });
      } else if (!known) {
        report({
          message: `RoI level \`${level.value}\` is not one of this detector's levels`,
          primary: { span: level.span, message: "no such level" },
          expected: `one of ${tapNames.join(", ")}`,
          found: level.value,
          hint: didYouMean(suggestionList(level.value, tapNames)) ?? "RoI levels are named by their `tap` nodes",
        });
      } else if (seen.has(known.id.value)) {
        report({
          message: `RoI level \`${level.value}\` is listed twice`,
          primary: { span: level.span, message: "repeated" },
          hint: "list each level once",
        });
      }
      if (known) seen.add(known.id.value);
    }
  },
};
