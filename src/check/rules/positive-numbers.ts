/**
 * Sizes, ratios, channels and counts are positive, and whole where they count things, with whole
 * numbers below 2^53 (beyond it a float64 no longer tells neighbouring integers apart, and the
 * parameter counts built from them would overflow). Numbers that are not finite are E034's.
 */
import type * as ast from "../../language/ast.js";
import type { Rule, RuleContext } from "../rule.js";

interface Requirement {
  readonly literal: ast.NumberLiteral | undefined;
  readonly what: string;
  readonly integer: boolean;
  readonly min: number;
}

function requirements(context: RuleContext): Requirement[] {
  const s = context.detector.statements;
  const need = (literal: ast.NumberLiteral | undefined, what: string, integer: boolean, min = 1): Requirement => ({
    literal,
    what,
    integer,
    min,
  });
  return [
    ...(s.anchors?.sizes.flatMap((g) => g.sizes.map((l) => need(l, "anchor size", false, Number.MIN_VALUE))) ?? []),
    ...(s.anchors?.ratios.map((l) => need(l, "aspect ratio", false, Number.MIN_VALUE)) ?? []),
    need(s.fpn?.channels, "FPN width", true),
    need(s.roi?.outputSize, "RoI output size", true),
    // torchvision: sampling_ratio <= 0 means adaptive (ceil(roi_size / output_size) samples).
    need(s.roi?.samplingRatio, "RoI sampling ratio", true, 0),
    need(s.outChannels?.value, "out_channels", true),
    ...(s.inChannels?.values.map((l) => need(l, "in_channels entry", true)) ?? []),
    need(s.backbone?.trainable, "trainable stage count", true, 0),
    ...(s.input?.form === "square" ? [need(s.input.size, "input size", true)] : []),
    ...(s.input?.form === "exact" ? [need(s.input.height, "input height", true), need(s.input.width, "input width", true)] : []),
    ...(s.input?.form === "range" ? [need(s.input.min, "input min size", true), need(s.input.max, "input max size", true)] : []),
  ];
}

export const positiveNumbers: Rule = {
  code: "E032",
  name: "positive-numbers",
  severity: "error",
  check(context) {
    for (const { literal, what, integer, min } of requirements(context)) {
      if (!literal || !Number.isFinite(literal.value)) continue;
      const wholeOk = !integer || Number.isSafeInteger(literal.value);
      if (wholeOk && literal.value >= min) continue;
      const tooLarge = integer && Number.isInteger(literal.value) && literal.value > 0;
      const expected = tooLarge
        ? `a whole number below 2^53 (${Number.MAX_SAFE_INTEGER})`
        : `${integer ? "a whole number" : "a number"} ${min === 0 ? "≥ 0" : "> 0"}`;
      context.report({
        message: `${what} must be ${expected}`,
        primary: { span: literal.span, message: `${what} ${literal.raw}` },
        expected,
        found: literal.raw,
      });
    }
    const input = context.detector.statements.input;
    if (input?.form === "range" && input.min.value > input.max.value) {
      context.report({
        message: `input min size ${input.min.raw} is larger than max size ${input.max.raw}`,
        primary: { span: input.span, message: "min > max" },
        hint: `swap them: \`input min ${input.max.raw} max ${input.min.raw}\``,
      });
    }
  },
};
