/**
 * The RPN learns to propose a box from its positive anchors: those at IoU ≥ `rpn fg_iou_thresh`
 * (0.7). A box whose best anchor stays below that still gets one positive, through torchvision's
 * low-quality rule, but it is a poor one, and a box whose anchors all go to a neighbour gets none.
 * When too few boxes reach the threshold, the anchors do not fit the data.
 */
import { percent, type DataRule } from "../anchor-data.js";
import { anchorsSpan, sizeRange, thousands } from "./where.js";

/** Below this share of boxes at the foreground IoU, the anchors are reported. */
export const MIN_RECALL = 0.9;

export const anchorsReachBoxes: DataRule = {
  code: "W090",
  name: "anchors-reach-boxes",
  severity: "warning",
  check({ detector, data, report }) {
    const [atHigh, ...lower] = data.anchors.recall;
    if (atHigh === undefined || data.boxes === 0 || atHigh.boxes >= MIN_RECALL * data.boxes) return;
    const sizes = sizeRange(data.anchors.sizes.flat());
    const reachLower = lower.map((at) => `${percent(at.boxes, data.boxes)} reach ${at.iou}`).join(", ");
    report({
      message:
        `anchor sizes ${sizes} reach IoU ≥ ${atHigh.iou} (the RPN's foreground threshold) for ${percent(atHigh.boxes, data.boxes)} ` +
        `of the boxes in ${data.source} (${thousands(atHigh.boxes)} of ${thousands(data.boxes)})`,
      primary: { span: anchorsSpan(detector), message: `${percent(atHigh.boxes, data.boxes)} of boxes at IoU ≥ ${atHigh.iou}` },
      expected: `at least ${Math.round(MIN_RECALL * 100)}% of boxes with an anchor at IoU ≥ ${atHigh.iou}`,
      found: `${percent(atHigh.boxes, data.boxes)}; ${reachLower}`,
      hint:
        `${percent(data.lowQualityOnly, data.boxes)} of boxes are positive only through the low-quality rule (their best anchor, below ${atHigh.iou}), ` +
        `${percent(data.unmatched, data.boxes)} get no positive anchor at all` +
        (data.suggestion ? `; \`${data.suggestion.line}\` reaches ${percent(data.suggestion.recall[0]?.boxes ?? 0, data.boxes)} (I093)` : ""),
    });
  },
};
