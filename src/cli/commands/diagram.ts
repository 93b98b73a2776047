/** `detc diagram FILE`: the detector's architecture as SVG, PNG, DOT or Mermaid, problems drawn in red. */
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import type { Command } from "commander";
import { checkSource } from "../../check/index.js";
import { sourceName, UsageError } from "../io.js";
import { readSpec } from "../spec.js";
import { say } from "../output.js";

interface DiagramOptions {
  output?: string;
  detail: string;
  detector?: string;
  format?: string;
}

export function registerDiagram(program: Command): void {
  program
    .command("diagram")
    .summary("draw the detector: backbone stages, taps, FPN, RPN, RoI heads, with every tensor shape")
    .description(
      "Draw the detector left to right, from the input through the backbone's stages and taps, the FPN, " +
        "the RPN and its anchors, MultiScaleRoIAlign and the box head to the predictor; every edge carries " +
        "its tensor shape at the spec's input size. Problems the checker finds are drawn on the block or " +
        "edge they concern (red for errors, amber for warnings, with their codes) instead of refusing to " +
        "draw. The format follows -o's extension: .svg, .png, .dot (Graphviz) or .mmd (Mermaid).",
    )
    .argument("<file>", "a .det spec (- for standard input)")
    .option("-o, --output <path>", "where to write it (.svg, .png, .dot, .mmd); without it, SVG on stdout")
    .option("--format <format>", "svg, png, dot or mmd, when -o's extension does not say")
    .option("--detail <level>", "stages (the backbone collapsed between strides) or layers (every torchvision node)", "stages")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc diagram examples/mobilenet_v3_large_fpn.det -o mbv3.svg\n  $ detc diagram examples/resnet50.det -o resnet50.png --detail layers\n  $ detc diagram my.det --format mmd > my.mmd",
    )
    .action(async (file: string, options: DiagramOptions) => {
      const { DIAGRAM_FORMATS, diagramGraph, renderDiagram } = await import("../../diagram/index.js");
      const format = options.format ?? (options.output ? extname(options.output).slice(1).toLowerCase() : "svg");
      if (!(DIAGRAM_FORMATS as readonly string[]).includes(format))
        throw new UsageError(`cannot draw ${options.output ?? file} as "${format}": use one of ${DIAGRAM_FORMATS.map((f) => `.${f}`).join(", ")}`);
      if (options.detail !== "stages" && options.detail !== "layers") throw new UsageError(`--detail is stages or layers, not "${options.detail}"`);
      if (format === "png" && !options.output) throw new UsageError("a PNG needs -o FILE.png");

      const name = sourceName(file);
      const result = checkSource(readSpec(file));
      const names = result.analyses.map((a) => a.name);
      if (names.length === 0) throw new UsageError(`${name} has no detector to draw`);
      if (options.detector === undefined && names.length > 1)
        throw new UsageError(`${name} has ${names.length} detectors (${names.join(", ")}); choose one with --detector`);
      const analysis = options.detector === undefined ? result.analyses[0]! : result.analyses.find((a) => a.name === options.detector);
      if (!analysis) throw new UsageError(`${name} has no detector \`${options.detector}\` (it has ${names.join(", ")})`);

      const graph = diagramGraph(analysis, result.diagnostics, options.detail);
      let note = "";
      if (format === "png") {
        const { PNG_DENSITY, rasterise } = await import("../../diagram/png.js");
        const { png, scale } = await rasterise((await renderDiagram(graph, "svg")) as string);
        writeFileSync(options.output!, png);
        const percent = Math.round((100 * scale * 72) / PNG_DENSITY);
        if (percent < 100) note = ` (scaled to ${percent}% to stay within what a PNG renderer draws; the .svg keeps every detail)`;
      } else {
        const drawn = await renderDiagram(graph, format as (typeof DIAGRAM_FORMATS)[number]);
        if (options.output) writeFileSync(options.output, drawn);
        else process.stdout.write(drawn);
      }
      const problems = graph.nodes.flatMap((n) => n.problems).length + graph.edges.flatMap((e) => e.problems).length + graph.unplaced.length;
      if (problems > 0) process.stderr.write(`detc: drew ${problems} problem${problems === 1 ? "" : "s"} on the diagram; \`detc check ${name}\` explains them\n`);
      if (options.output) say(`wrote ${options.output}${note}`);
    });
}
