/**
 * Diagrams of a checked detector: analysis → graph model → layout (stages or layers) → SVG (and PNG from it),
 * or the same graph model as DOT or Mermaid. Pure but for the layout engine being asynchronous.
 */
import type { DiagramGraph } from "./model.js";
import { diagramDot } from "./dot.js";
import type { DiagramLayout } from "./layout.js";
import { layoutLayers } from "./layers-layout.js";
import { diagramMermaid } from "./mermaid.js";
import { svgToPng } from "./png.js";
import { layoutStages } from "./stage-layout.js";
import { diagramSvg } from "./svg.js";

export { diagramGraph, type Detail, type DiagramGraph } from "./model.js";

export const DIAGRAM_FORMATS = ["svg", "png", "dot", "mmd"] as const;
export type DiagramFormat = (typeof DIAGRAM_FORMATS)[number];

export async function renderDiagram(graph: DiagramGraph, format: DiagramFormat): Promise<string | Buffer> {
  switch (format) {
    case "dot":
      return diagramDot(graph);
    case "mmd":
      return diagramMermaid(graph);
    case "svg":
      return diagramSvg(await placeDiagram(graph));
    case "png":
      return svgToPng(diagramSvg(await placeDiagram(graph)));
  }
}

/** The stage view in the FPN paper's arrangement; the layers view in columns beside it. */
export async function placeDiagram(graph: DiagramGraph): Promise<DiagramLayout> {
  return graph.detail === "stages" ? layoutStages(graph) : layoutLayers(graph);
}
