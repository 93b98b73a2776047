/**
 * RoI pooling reads levels that exist and that carry features: the taps, never the FPN's extra
 * max-pool level (torchvision's MultiScaleRoIAlign raises a KeyError for a featmap name it does
 * not find, and the pool level is for the RPN only).
 */
import type { Rule } from "../rule.js";
import { POOL_LEVEL } from "../../util/torchvision.js";
import { listSome } from "../describe.js";
import { didYouMean, suggester } from "../suggest.js";

export const roiLevelsExist: Rule = {
  code: "E040",
  name: "roi-levels-exist",
  severity: "error",
  check({ detector, report }) {
    const levels = detector.statements.roi?.levels;
    if (!levels || detector.taps.length === 0) return;
    const tapNames = [...new Set(detector.taps.map((t) => t.id.value))];
    const tapList = listSome(tapNames);
    const nearestTaps = suggester(tapNames);
    // A level is named by its tap as written or by the node it resolves to; the first tap wins.
    const tapByName = new Map<string, (typeof detector.taps)[number]>();
    for (const tap of detector.taps) {
      for (const name of [tap.id.value, tap.node?.name]) if (name !== undefined && !tapByName.has(name)) tapByName.set(name, tap);
    }
    const seen = new Set<string>();
    for (const level of levels) {
      const known = tapByName.get(level.value);
      if (level.value === POOL_LEVEL) {
        report({
          message: "RoI pooling cannot use the extra max-pool level",
          primary: { span: level.span, message: "RPN-only level" },
          expected: `tapped levels: ${tapList}`,
          found: POOL_LEVEL,
          hint: `the \`extra maxpool\` level only feeds the RPN; drop \`${POOL_LEVEL}\` (or the whole \`on\` clause to pool from every tap)`,
        });
      } else if (!known) {
        report({
          message: `RoI level \`${level.value}\` is not one of this detector's levels`,
          primary: { span: level.span, message: "no such level" },
          expected: `one of ${tapList}`,
          found: level.value,
          hint: didYouMean(nearestTaps(level.value)) ?? "RoI levels are named by their `tap` nodes",
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
