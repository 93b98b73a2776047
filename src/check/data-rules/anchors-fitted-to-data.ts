/**
 * Anchors fitted to the data (k-means with 1 − IoU, one size group per level, the spec's anchors
 * per location): offered, ready to paste, when they give more boxes an anchor at the foreground IoU
 * than the spec's. The fix replaces the `anchors` line (or adds one).
 */
import { percent, type DataRule } from "../anchor-data.js";
import { anchorsSpan } from "./where.js";

export const anchorsFittedToData: DataRule = {
  code: "I093",
  name: "anchors-fitted-to-data",
  severity: "info",
  check({ detector, data, report }) {
    const suggestion = data.suggestion;
    const [now, fitted] = [data.anchors.recall[0], suggestion?.recall[0]];
    if (suggestion === undefined || now === undefined || fitted === undefined) return;
    const statement = detector.statements.anchors;
    const last = detector.detector.statements.at(-1)?.span ?? detector.detector.span;
    report({
      message:
        `anchors fitted to ${data.source} reach IoU ≥ ${now.iou} for ${percent(fitted.boxes, data.boxes)} of the boxes ` +
        `(the spec's: ${percent(now.boxes, data.boxes)}), with the same anchors per location`,
      primary: { span: anchorsSpan(detector), message: `fitted: ${percent(fitted.boxes, data.boxes)} at IoU ≥ ${now.iou}` },
      expected: suggestion.line,
      hint: `write \`${suggestion.line}\``,
      fix: statement
        ? { span: statement.span, replacement: suggestion.line }
        : { span: { start: last.end, end: last.end }, replacement: `\n${suggestion.line}` },
    });
  },
};
