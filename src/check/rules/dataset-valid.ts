/** A `dataset` statement names a known format with the paths that format needs. */
import type { Rule } from "../rule.js";
import { didYouMean, suggestionList } from "../suggest.js";

const FORMATS = ["synthetic", "coco", "voc"];

export const datasetValid: Rule = {
  code: "E080",
  name: "dataset-valid",
  severity: "error",
  check({ detector, report }) {
    const dataset = detector.statements.dataset;
    if (!dataset?.format) return;
    const format = dataset.format.value;
    if (!FORMATS.includes(format)) {
      report({
        message: `unknown dataset format \`${format}\``,
        primary: { span: dataset.format.span, message: "unknown format" },
        expected: FORMATS.join(", "),
        found: format,
        hint: didYouMean(suggestionList(format, FORMATS)),
      });
      return;
    }
    const splits = new Map<string, (typeof dataset.splits)[number]>();
    for (const split of dataset.splits) {
      if (splits.has(split.split.value)) {
        report({
          message: `the \`${split.split.value}\` split is given twice`,
          primary: { span: split.span, message: "again here" },
          secondary: [{ span: splits.get(split.split.value)!.span, message: "first here" }],
        });
      }
      splits.set(split.split.value, split);
      if (format === "coco" && (!split.source || !split.images)) {
        report({
          message: `the COCO \`${split.split.value}\` split needs an annotation file and an image folder`,
          primary: { span: split.span, message: "incomplete" },
          hint: `\`${split.split.value} "annotations/instances_${split.split.value}.json" images "images/${split.split.value}"\``,
        });
      }
    }
    if (format === "coco" && !splits.has("train")) {
      report({
        message: "a COCO dataset needs a `train` split",
        primary: { span: dataset.span, message: "no train split" },
        hint: 'add `train "instances_train.json" images "train/"`',
      });
    }
    if (format === "voc" && !dataset.root) {
      report({
        message: "a VOC dataset needs its root folder",
        primary: { span: dataset.span, message: "no root" },
        hint: 'write `dataset voc "VOCdevkit/VOC2007"`',
      });
    }
  },
};
