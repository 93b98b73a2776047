/** `detc backbones`: the networks the zoo describes. */
import type { Command } from "commander";
import { backbones } from "../../zoo/index.js";
import { countParameters } from "../../zoo/graph.js";
import { writeJson } from "../io.js";
import { colors, thousands } from "../style.js";

export function registerBackbones(program: Command): void {
  program
    .command("backbones")
    .summary("list the supported backbones")
    .description("The classification networks detc can use as a backbone, with torchvision's parameter counts.")
    .option("--json", "machine-readable output")
    .addHelpText("after", "\nExamples:\n  $ detc backbones\n  $ detc backbones --json | jq -r '.[].name'")
    .action((options: { json?: boolean }) => {
      const rows = backbones.map((b) => ({ name: b.name, family: b.family, parameters: countParameters(b.graph().nodes) }));
      if (options.json) return writeJson(rows.map(({ name, parameters }) => ({ name, parameters })));
      const c = colors(process.stdout);
      const width = Math.max(...rows.map((r) => r.name.length));
      for (const r of rows)
        process.stdout.write(`${r.name.padEnd(width)}  ${c.dim(r.family.padEnd(12))} ${thousands(r.parameters).padStart(11)} parameters\n`);
    });
}
