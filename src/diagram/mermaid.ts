/** The diagram graph as a Mermaid flowchart: one subgraph per part, the same colours as the SVG. */
import { problemText } from "./layout.js";
import type { DiagramGraph, Part, Problem } from "./model.js";
import { PART_STYLE, problemColour, SEVERITY_COLOUR } from "./svg.js";

/** Mermaid has no escape for `"` inside a quoted label, only its entity codes. */
const text = (value: string) => value.replace(/"/g, "#quot;").replace(/</g, "#lt;").replace(/>/g, "#gt;");

function nodeClass(problems: readonly Problem[], part: Part): string {
  if (problems.length === 0) return part;
  return `${problems.some((p) => p.severity === "error") ? "error" : "warning"}_${part}`;
}

export function diagramMermaid(graph: DiagramGraph): string {
  const out = [`---`, `title: ${graph.title} · ${graph.subtitle}`, `---`, "flowchart TB"];
  for (const part of Object.keys(PART_STYLE) as Part[]) {
    const nodes = graph.nodes.filter((n) => n.part === part);
    if (nodes.length === 0) continue;
    // Subgraph ids share the node namespace (`input` is both a part and a node).
    out.push(`  subgraph part_${part} ["${text(PART_STYLE[part].name)}"]`);
    for (const node of nodes)
      out.push(`    ${node.id}["${[node.title, ...node.lines, ...node.problems.map(problemText)].map(text).join("<br/>")}"]:::${nodeClass(node.problems, part)}`);
    out.push("  end");
  }
  const edgeStyles: string[] = [];
  graph.edges.forEach((edge, index) => {
    const label = [edge.label, ...edge.problems.map(problemText)].filter((t) => t !== "").map(text).join("<br/>");
    out.push(`  ${edge.from} -->${label ? `|"${label}"|` : ""} ${edge.to}`);
    const problem = problemColour(edge.problems);
    if (problem) edgeStyles.push(`  linkStyle ${index} stroke:${problem},stroke-width:3px`);
  });
  for (const part of Object.keys(PART_STYLE) as Part[]) {
    const style = PART_STYLE[part];
    out.push(`  classDef ${part} fill:${style.fill},stroke:${style.stroke}`);
    for (const severity of ["error", "warning"] as const)
      out.push(`  classDef ${severity}_${part} fill:${style.fill},stroke:${SEVERITY_COLOUR[severity]},stroke-width:3px`);
  }
  out.push(...edgeStyles, "");
  return out.join("\n");
}
