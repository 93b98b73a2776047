/**
 * Boxes smaller than the smallest anchor (√area, after the spec's resize) can reach a high IoU
 * with none, and boxes smaller than the stride of the level the RoI pooler sends them to fall
 * between its cells. Either, for a sizeable share of the data, loses recall quietly.
 */
import { percent, type DataRule } from "../anchor-data.js";
import { anchorsSpan, thousands } from "./where.js";

/** The share of boxes at which small boxes are reported. */
export const SMALL_BOX_SHARE = 0.1;

export const boxesFitAnchorSizes: DataRule = {
  code: "W091",
  name: "boxes-fit-anchor-sizes",
  severity: "warning",
  check({ detector, data, report }) {
    if (data.boxes === 0) return;
    const written = detector.statements.anchors?.sizes.flatMap((group) => group.sizes);
    const smallest = written?.find((size) => size.value === data.smallestAnchor);
    if (data.belowSmallestAnchor >= SMALL_BOX_SHARE * data.boxes)
      report({
        message:
          `${percent(data.belowSmallestAnchor, data.boxes)} of the boxes in ${data.source} (${thousands(data.belowSmallestAnchor)}) ` +
          `are under ${data.smallestAnchor} px, the smallest anchor, after resizing (${data.resize})`,
        primary: { span: smallest?.span ?? anchorsSpan(detector), message: `smallest anchor ${data.smallestAnchor}` },
        hint: "add a smaller size (and a finer tap for it), or resize the images up with `input`",
      });
    const below = data.levels.filter((level) => level.belowStride > 0);
    if (data.belowStride >= SMALL_BOX_SHARE * data.boxes)
      report({
        message:
          `${percent(data.belowStride, data.boxes)} of the boxes in ${data.source} are narrower than the stride of the level ` +
          `they are pooled from (${below.map((level) => `${thousands(level.belowStride)} under ${level.stride} px on \`${level.name}\``).join(", ")})`,
        primary: { span: anchorsSpan(detector), message: "boxes below their level's stride" },
        hint: "tap a finer level (a smaller stride), or resize the images up with `input`",
      });
  },
};
