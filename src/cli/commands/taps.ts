/** `detc taps BACKBONE`: every node a spec can tap, with its channels, size and stride. */
import Table from "cli-table3";
import type { Command } from "commander";
import { backbones, findBackbone } from "../../zoo/index.js";
import { countParameters } from "../../zoo/graph.js";
import { ShapeError } from "../../zoo/infer.js";
import { tapPoints, type TapPoint } from "../../zoo/tap-points.js";
import { findUnsupportedBackbone, unsupportedBackbones } from "../../zoo/unsupported.js";
import { didYouMean, suggestionList } from "../../check/suggest.js";
import { UsageError, writeJson } from "../io.js";
import { colors, thousands } from "../style.js";

export function parseInputSize(text: string): [number, number] {
  const match = /^(\d+)(?:x(\d+))?$/.exec(text.trim());
  if (!match) throw new UsageError(`--input takes N or HxW (e.g. 224 or 512x384), not "${text}"`);
  const height = Number(match[1]);
  return [height, match[2] === undefined ? height : Number(match[2])];
}

function backboneTaps(name: string, input: [number, number]): { parameters: number; taps: TapPoint[] } {
  const backbone = findBackbone(name);
  const unsupported = findUnsupportedBackbone(name);
  if (unsupported) throw new UsageError(`${name} cannot be a backbone: ${unsupported.reason}; use ${unsupported.instead.join(", ")} instead`);
  if (!backbone) {
    const names = [...backbones, ...unsupportedBackbones].map((b) => b.name);
    const hint = didYouMean(suggestionList(name, names)) ?? "run `detc backbones` to list them";
    throw new UsageError(`unknown backbone "${name}": ${hint}`);
  }
  const graph = backbone.graph();
  try {
    return { parameters: countParameters(graph.nodes), taps: tapPoints(graph, input) };
  } catch (error) {
    if (error instanceof ShapeError) throw new UsageError(`input ${input.join("×")} is too small for ${name}: ${error.message}`);
    throw error;
  }
}

export function registerTaps(program: Command): void {
  program
    .command("taps")
    .summary("list every tap point of a backbone with channels, size and stride")
    .description(
      "Every node of the backbone's graph a spec can `tap`, named exactly as torchvision's " +
        "get_graph_node_names names it, with the channels, spatial size and stride it has at the " +
        "given input size. Module paths (`layer3`, `features.6`) are listed under the node they resolve to.",
    )
    .argument("<backbone>", "a backbone name (see `detc backbones`)")
    .option("--input <size>", "input size, N or HxW", "224")
    .option("--json", "machine-readable output")
    .addHelpText("after", "\nExamples:\n  $ detc taps resnet50\n  $ detc taps mobilenet_v3_large --input 512 --json")
    .action((name: string, options: { input: string; json?: boolean }) => {
      const input = parseInputSize(options.input);
      const { parameters, taps } = backboneTaps(name, input);
      if (options.json) {
        writeJson({ backbone: name, input, parameters, taps });
        return;
      }
      const c = colors(process.stdout);
      const table = new Table({
        head: ["node", "channels", "size", "stride"],
        style: { head: c.isColorSupported ? ["cyan"] : [], border: [], compact: true },
        chars: { mid: "", "left-mid": "", "mid-mid": "", "right-mid": "" },
      });
      for (const t of taps)
        table.push([t.resolvesTo ? c.bold(`${t.node} → ${t.resolvesTo}`) : t.node, t.channels, `${t.height}×${t.width}`, t.stride]);
      process.stdout.write(
        `${c.bold(name)} at ${input[0]}×${input[1]} · ${thousands(parameters)} parameters (classifier included)\n${table.toString()}\n`,
      );
    });
}
