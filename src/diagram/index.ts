/**
 * Diagrams of a checked detector: analysis → graph model → ELK layout → SVG (and PNG from it),
 * or the same graph model as DOT or Mermaid. Pure but for the layout engine being asynchronous.
 */
import type { DiagramGraph } from "./model.js";
import { diagramDot } from "./dot.js";
import { layoutDiagram } from "./layout.js";
import { diagramMermaid } from "./mermaid.js";
import { svgToPng } from "./png.js";
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
      return diagramSvg(await layoutDiagram(graph));
    case "png":
      return svgToPng(diagramSvg(await layoutDiagram(graph)));
  }
}
