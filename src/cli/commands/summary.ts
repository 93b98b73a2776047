/** `detc summary FILE`: build the real TensorFlow.js model and count its variables per part. */
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { writeJson } from "../io.js";
import { loadSpec } from "../spec.js";
import { colors, thousands } from "../style.js";

export function registerSummary(program: Command): void {
  program
    .command("summary")
    .summary("build the TensorFlow.js model and count its parameters per part")
    .description(
      "Build the detector as TensorFlow.js variables (named by torchvision's state-dict keys) and " +
        "count its parameters per part; the numbers equal `detc check`'s and torchvision's.",
    )
    .argument("<file>", "a .det spec")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .option("--json", 'machine-readable output: {"parameters":{"backbone","fpn","rpn","roiHeads","total"},"backend"}')
    .addHelpText("after", "\nExamples:\n  $ detc summary examples/resnet50.det\n  $ detc summary examples/quickstart.det --json")
    .action(async (file: string, options: { detector?: string; backend: string; json?: boolean }) => {
      const { spec } = loadSpec(file, options.detector);
      const selection = await startEngine(options.backend, options.json === true);
      const { buildFasterRCNN } = await import("../../detection/faster-rcnn.js");
      const model = buildFasterRCNN(spec);
      const parameters = model.parameterCounts();
      const variables = model.variables().size;
      model.dispose();
      if (options.json) return writeJson({ detector: spec.name, parameters, variables, backend: selection.engine });
      const c = colors(process.stdout);
      process.stdout.write(
        `${c.bold(`detector ${spec.name}`)} on ${selection.engine} · ${variables} variables\n` +
          (["backbone", "fpn", "rpn", "roiHeads"] as const).map((part) => `  ${part.padEnd(9)} ${thousands(parameters[part]).padStart(12)}\n`).join("") +
          `  ${"total".padEnd(9)} ${c.bold(thousands(parameters.total).padStart(12))}\n`,
      );
    });
}
