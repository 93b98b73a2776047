/**
 * `batch_norm_eps E` is added to every batch norm's running variance before its square root, so it
 * must be a finite number ≥ 0 (0 is what torchvision's COCO ResNet-50 detector runs at).
 */
import { ownBatchNormEps } from "../../zoo/graph.js";
import type { Rule } from "../rule.js";

export const batchNormEpsValid: Rule = {
  code: "E006",
  name: "batch-norm-eps-valid",
  severity: "error",
  check({ detector, report }) {
    const eps = detector.statements.backbone?.batchNormEps;
    if (!eps || (Number.isFinite(eps.value) && eps.value >= 0)) return;
    const own = detector.graph && ownBatchNormEps(detector.graph);
    report({
      message: `batch_norm_eps must be a finite number ≥ 0`,
      primary: { span: eps.span, message: Number.isFinite(eps.value) ? "negative" : "too large to be a number" },
      expected: "a finite number ≥ 0",
      found: eps.raw,
      hint:
        own === undefined
          ? "leave it out to keep the network's own eps"
          : `leave it out to keep ${detector.backbone!.name}'s own eps, ${own < 1e-3 ? own.toExponential() : own}`,
    });
  },
};
