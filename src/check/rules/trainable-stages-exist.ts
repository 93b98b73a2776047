/**
 * `trainable N` (torchvision's `trainable_layers`) trains the last N stages before the deepest
 * tap, so N is at most the number of stages the taps use.
 */
import { stages } from "../../zoo/stages.js";
import type { Rule } from "../rule.js";

export const trainableStagesExist: Rule = {
  code: "E005",
  name: "trainable-stages-exist",
  severity: "error",
  check({ detector, report }) {
    const trainable = detector.statements.backbone?.trainable;
    const { graph } = detector;
    if (!trainable || !graph || !Number.isInteger(trainable.value) || trainable.value < 0) return;
    if (detector.taps.length === 0 || detector.taps.some((t) => !t.node)) return;
    const available = stages(graph, detector.taps.map((t) => t.node!.name));
    if (trainable.value <= available.length) return;
    report({
      message: `\`trainable ${trainable.raw}\` asks for more stages than the taps use: ${detector.backbone!.name} has ${available.length} up to them`,
      primary: { span: trainable.span, message: `at most ${available.length}` },
      expected: `0 to ${available.length} (${available.map((s) => s.name).join(" | ")})`,
      found: trainable.raw,
      hint: `\`trainable ${available.length}\` trains the whole body; 0 freezes it`,
    });
  },
};
