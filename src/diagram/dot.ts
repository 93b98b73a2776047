/** The diagram graph as Graphviz DOT: one cluster per part, the same colours as the SVG. */
import { problemText } from "./layout.js";
import { layerColumns } from "./layers-layout.js";
import type { DiagramEdge, DiagramGraph, Part } from "./model.js";
import { FONT_FAMILY, PART_STYLE, problemColour } from "./svg.js";

const quote = (text: string) => `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
/** `\l` ends a left-justified line in a DOT label. */
const label = (lines: readonly string[]) => `"${lines.map((l) => l.replace(/\\/g, "\\\\").replace(/"/g, '\\"')).join("\\l")}\\l"`;

export function diagramDot(graph: DiagramGraph): string {
  const out = [
    `digraph ${quote(graph.title)} {`,
    `  label=${quote([graph.title, graph.subtitle, ...graph.unplaced.map(problemText)].join("\n"))}; labelloc=t; labeljust=l;`,
    `  rankdir=TB; newrank=true; fontname=${quote(FONT_FAMILY)};`,
    `  node [shape=box, style="rounded,filled", fontname=${quote(FONT_FAMILY)}, fontsize=11];`,
    `  edge [fontname=${quote(FONT_FAMILY)}, fontsize=10, color="#546e7a"];`,
  ];
  for (const part of Object.keys(PART_STYLE) as Part[]) {
    const nodes = graph.nodes.filter((n) => n.part === part);
    if (nodes.length === 0) continue;
    const style = PART_STYLE[part];
    out.push(`  subgraph cluster_${part} {`, `    label=${quote(style.name)}; color=${quote(style.stroke)};`);
    for (const node of nodes) {
      const problem = problemColour(node.problems);
      const colour = problem ? `color=${quote(problem)}, penwidth=2.5` : `color=${quote(style.stroke)}`;
      out.push(`    ${quote(node.id)} [label=${label([node.title, ...node.lines, ...node.problems.map(problemText)])}, fillcolor=${quote(style.fill)}, ${colour}];`);
    }
    out.push("  }");
  }
  // The stage view's rows: each tap beside its pyramid level, as the SVG draws them.
  for (const tap of graph.nodes.filter((n) => n.part === "tap")) {
    const level = tap.id.slice("tap".length);
    const producer = graph.detail === "stages" ? graph.edges.find((e) => e.to === tap.id && graph.nodes.some((n) => n.id === e.from && n.part === "backbone"))?.from : undefined;
    const row = [producer, tap.id, `lateral${level}`, `merge${level}`, `output${level}`].filter((id): id is string => graph.nodes.some((n) => n.id === id));
    if (row.length > 1) out.push(`  { rank=same; ${row.map(quote).join("; ")}; }`);
  }
  // The layers view's columns: each starts at the top, in order, as the SVG draws them; an edge
  // between columns (or out to the taps) does not rank its target below its source.
  const columnOf = new Map<string, number>();
  if (graph.detail === "layers") {
    const columns = layerColumns(graph);
    columns.forEach((ids, column) => ids.forEach((id) => columnOf.set(id, column)));
    const tops = columns.map((ids) => ids[0]).filter((id): id is string => id !== undefined);
    if (tops.length > 1) out.push(`  { rank=same; ${tops.map(quote).join(" -> ")} [style=invis]; }`);
    // Free of their producers' ranks, the taps keep their order down the page (and the pyramid's rows with them).
    const taps = graph.nodes.filter((n) => n.part === "tap").map((n) => quote(n.id));
    if (taps.length > 1) out.push(`  ${taps.join(" -> ")} [style=invis];`);
  }
  const acrossColumns = (edge: DiagramEdge) => columnOf.has(edge.from) && columnOf.get(edge.from) !== columnOf.get(edge.to);
  for (const edge of graph.edges) {
    const problem = problemColour(edge.problems);
    const text = [edge.label, ...edge.problems.map(problemText)].filter((t) => t !== "").join("\n");
    const attributes = [
      ...(text ? [`label=${quote(text)}`] : []),
      ...(problem ? [`color=${quote(problem)}`, `fontcolor=${quote(problem)}`, "penwidth=2.5"] : []),
      ...(acrossColumns(edge) ? ["constraint=false"] : []),
    ];
    out.push(`  ${quote(edge.from)} -> ${quote(edge.to)}${attributes.length > 0 ? ` [${attributes.join(", ")}]` : ""};`);
  }
  out.push("}", "");
  return out.join("\n");
}
