/**
 * A box whose height / width is far from every anchor ratio cannot reach the foreground IoU with
 * any anchor, whatever its size: two centred boxes of equal area whose ratios differ by a factor ρ
 * overlap at IoU 1 / (2√ρ − 1), which is 0.7 at ρ ≈ 1.47.
 */
import { percent, type DataRule } from "../anchor-data.js";
import { anchorsSpan, spanOf, thousands } from "./where.js";

/** The share of boxes at which elongated boxes are reported. */
export const ELONGATED_SHARE = 0.05;

const ratioText = (ratio: number) => (ratio < 1 ? ratio.toFixed(2) : ratio.toFixed(1));

export const ratiosFitBoxes: DataRule = {
  code: "W092",
  name: "ratios-fit-boxes",
  severity: "warning",
  check({ detector, data, report }) {
    if (data.boxes === 0 || data.elongated < ELONGATED_SHARE * data.boxes) return;
    const [lowest, highest] = data.ratioReach;
    report({
      message:
        `${percent(data.elongated, data.boxes)} of the boxes in ${data.source} (${thousands(data.elongated)}) are shaped so that no anchor ratio ` +
        `can reach IoU ${data.matcher.high} with them, at any size`,
      primary: { span: spanOf(detector.statements.anchors?.ratios ?? [], anchorsSpan(detector)), message: `these reach height/width ${ratioText(lowest)}…${ratioText(highest)} at best` },
      hint: "add ratios nearer the boxes' height / width (each ratio covers about ×1.47 either side)",
    });
  },
};
