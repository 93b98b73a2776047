/** `detc backbones`: the networks the zoo describes, and the torchvision ones it cannot use. */
import type { Command } from "commander";
import { backbones } from "../../zoo/index.js";
import { countParameters } from "../../zoo/graph.js";
import { DEFAULT_WEIGHTS } from "../../zoo/pretrained.js";
import { tapPoints } from "../../zoo/tap-points.js";
import { unsupportedBackbones } from "../../zoo/unsupported.js";
import { writeJson } from "../io.js";
import { colors, thousands } from "../style.js";

/** Strides do not depend on the input size; every zoo network accepts this one. */
const PROBE_INPUT = [224, 224] as const;

interface BackboneRow {
  name: string;
  family: string;
  supported: boolean;
  /** torchvision's parameter count, classifier included. */
  parameters?: number;
  /** The distinct strides of its tap points. */
  strides?: number[];
  /** torchvision's `weights="DEFAULT"` for the builder, when it publishes any. */
  pretrained: string | null;
  reason?: string;
  instead?: readonly string[];
}

function rows(): BackboneRow[] {
  const supported = backbones.map((b): BackboneRow => {
    const graph = b.graph();
    const strides = [...new Set(tapPoints(graph, PROBE_INPUT).map((t) => t.stride))].sort((x, y) => x - y);
    const pretrained = DEFAULT_WEIGHTS[b.name] ?? null;
    return { name: b.name, family: b.family, supported: true, parameters: countParameters(graph.nodes), strides, pretrained };
  });
  const unsupported = unsupportedBackbones.map(
    (b): BackboneRow => ({ ...b, supported: false, pretrained: DEFAULT_WEIGHTS[b.name] ?? null }),
  );
  return [...supported, ...unsupported];
}

export function registerBackbones(program: Command): void {
  program
    .command("backbones")
    .summary("list the supported backbones")
    .description(
      "The classification networks detc can use as a backbone: torchvision family, parameter count (classifier " +
        "included), the strides its taps reach, and torchvision's default pretrained weights. Then the torchvision " +
        "networks it cannot use, with the reason.",
    )
    .option("--json", "machine-readable output")
    .addHelpText("after", "\nExamples:\n  $ detc backbones\n  $ detc backbones --json | jq -r '.[] | select(.supported) | .name'")
    .action((options: { json?: boolean }) => {
      const list = rows();
      if (options.json) return writeJson(list);
      const c = colors(process.stdout);
      const width = Math.max(...list.map((r) => r.name.length));
      for (const r of list) {
        const head = `${r.name.padEnd(width)}  ${c.dim(r.family.padEnd(18))}`;
        if (!r.supported) {
          process.stdout.write(`${head} ${c.yellow("not supported")}: ${r.reason}\n`);
          continue;
        }
        const strides = `strides ${r.strides!.join("/")}`.padEnd(22);
        const pretrained = r.pretrained ? `pretrained ${r.pretrained}` : "no pretrained weights";
        process.stdout.write(`${head} ${thousands(r.parameters!).padStart(11)} parameters  ${strides} ${c.dim(pretrained)}\n`);
      }
    });
}
