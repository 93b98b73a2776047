/** The laid-out diagram as a standalone SVG document: title, blocks, labelled edges, legend. */
import { FONT_SIZE, LINE_HEIGHT, textWidth, type DiagramLayout, type PlacedEdge, type PlacedNode, type TextLine } from "./layout.js";
import type { Part, Problem } from "./model.js";

export const FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace";

/** One colour family per part, the same in SVG, DOT and Mermaid. */
export const PART_STYLE: Record<Part, { readonly fill: string; readonly stroke: string; readonly name: string }> = {
  input: { fill: "#eceff1", stroke: "#607d8b", name: "input" },
  backbone: { fill: "#e3f2fd", stroke: "#1e88e5", name: "backbone" },
  tap: { fill: "#bbdefb", stroke: "#0d47a1", name: "tap (feature map)" },
  fpn: { fill: "#e8f5e9", stroke: "#43a047", name: "FPN" },
  rpn: { fill: "#fff3e0", stroke: "#ef6c00", name: "RPN" },
  roi: { fill: "#f3e5f5", stroke: "#8e24aa", name: "RoI heads" },
};

export const SEVERITY_COLOUR: Record<Problem["severity"], string> = { error: "#d32f2f", warning: "#b26a00" };

const EDGE_COLOUR = "#546e7a";
const MARGIN = 24;
const TITLE_SIZE = 16;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const round = (n: number) => Math.round(n * 10) / 10;

/** The worst problem's colour, if any. */
export function problemColour(problems: readonly Problem[]): string | undefined {
  if (problems.length === 0) return undefined;
  return SEVERITY_COLOUR[problems.some((p) => p.severity === "error") ? "error" : "warning"];
}

function lineColour(line: TextLine): string {
  return line.kind === "error" || line.kind === "warning" ? SEVERITY_COLOUR[line.kind] : "#212121";
}

function textBlock(lines: readonly TextLine[], x: number, top: number): string {
  return lines
    .map((line, i) => {
      const weight = line.kind === "title" || line.kind === "error" ? ' font-weight="bold"' : "";
      return `<text x="${round(x)}" y="${round(top + (i + 1) * LINE_HEIGHT - 4)}" fill="${lineColour(line)}"${weight}>${escape(line.text)}</text>`;
    })
    .join("");
}

const tooltip = (problems: readonly Problem[]) =>
  problems.length === 0 ? "" : `<title>${escape(problems.map((p) => `${p.severity}[${p.code}]: ${p.message}`).join("\n"))}</title>`;

function nodeSvg(placed: PlacedNode): string {
  const { node } = placed;
  const style = PART_STYLE[node.part];
  const problem = problemColour(node.problems);
  const stroke = problem ? `stroke="${problem}" stroke-width="2.5"` : `stroke="${style.stroke}" stroke-width="1.2"`;
  return (
    `<g class="node part-${node.part}${problem ? " problem" : ""}" id="node-${escape(node.id)}">${tooltip(node.problems)}` +
    `<rect x="${round(placed.x)}" y="${round(placed.y)}" width="${round(placed.width)}" height="${round(placed.height)}" rx="6" fill="${style.fill}" ${stroke}/>` +
    textBlock(placed.text, placed.x + 10, placed.y + 8) +
    `</g>`
  );
}

function edgeSvg(placed: PlacedEdge): string {
  const problem = problemColour(placed.edge.problems);
  const colour = problem ?? EDGE_COLOUR;
  const path = placed.points.map(([x, y], i) => `${i === 0 ? "M" : "L"}${round(x)} ${round(y)}`).join(" ");
  const label = placed.label
    ? `<rect x="${round(placed.label.x)}" y="${round(placed.label.y)}" width="${round(placed.label.width)}" height="${round(placed.label.height)}" fill="#ffffff" fill-opacity="0.9"/>` +
      textBlock(placed.label.text, placed.label.x + 3, placed.label.y + 1)
    : "";
  return (
    `<g class="edge${problem ? " problem" : ""}" id="edge-${escape(placed.edge.id)}">${tooltip(placed.edge.problems)}` +
    `<path d="${path}" fill="none" stroke="${colour}" stroke-width="${problem ? 2.5 : 1.3}" marker-end="url(#arrow-${problem ? (problem === SEVERITY_COLOUR.error ? "error" : "warning") : "plain"})"/>` +
    label +
    `</g>`
  );
}

const arrowMarker = (name: string, colour: string) =>
  `<marker id="arrow-${name}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${colour}"/></marker>`;

interface LegendEntry {
  readonly fill: string;
  readonly stroke: string;
  readonly name: string;
}

function legendEntries(layout: DiagramLayout): LegendEntry[] {
  const parts = new Set(layout.graph.nodes.map((n) => n.part));
  const entries: LegendEntry[] = (Object.keys(PART_STYLE) as Part[]).filter((p) => parts.has(p)).map((p) => PART_STYLE[p]);
  const problems = [...layout.graph.nodes.flatMap((n) => n.problems), ...layout.graph.edges.flatMap((e) => e.problems), ...layout.graph.unplaced];
  for (const severity of ["error", "warning"] as const)
    if (problems.some((p) => p.severity === severity)) entries.push({ fill: "#ffffff", stroke: SEVERITY_COLOUR[severity], name: `${severity} (code)` });
  return entries;
}

export function diagramSvg(layout: DiagramLayout): string {
  const { graph } = layout;
  const header: TextLine[] = graph.unplaced.map((p) => ({ text: `${p.code} ${p.message}`, kind: p.severity }));
  const headerHeight = TITLE_SIZE + 8 + LINE_HEIGHT + header.length * LINE_HEIGHT + 16;
  const entries = legendEntries(layout);
  const swatch = 14;
  const entryWidths = entries.map((e) => swatch + 6 + textWidth(e.name) + 20);
  const legendWidth = entryWidths.reduce((a, b) => a + b, 0);
  const legendHeight = 36;
  const widest = Math.max(layout.width, legendWidth, textWidth(graph.subtitle), (graph.title.length * TITLE_SIZE * 0.62), ...header.map((l) => textWidth(l.text)));
  const width = Math.ceil(widest + 2 * MARGIN);
  const height = Math.ceil(MARGIN + headerHeight + layout.height + legendHeight + MARGIN);
  const top = MARGIN + headerHeight;

  let x = MARGIN;
  const legendY = top + layout.height + 20;
  const legend = entries
    .map((entry, i) => {
      const item =
        `<rect x="${x}" y="${legendY}" width="${swatch}" height="${swatch}" rx="3" fill="${entry.fill}" stroke="${entry.stroke}" stroke-width="2"/>` +
        `<text x="${x + swatch + 6}" y="${legendY + swatch - 2}" fill="#212121">${escape(entry.name)}</text>`;
      x += entryWidths[i]!;
      return item;
    })
    .join("");

  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${FONT_FAMILY}" font-size="${FONT_SIZE}">`,
    `<defs>${arrowMarker("plain", EDGE_COLOUR)}${arrowMarker("error", SEVERITY_COLOUR.error)}${arrowMarker("warning", SEVERITY_COLOUR.warning)}</defs>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${MARGIN}" y="${MARGIN + TITLE_SIZE}" font-size="${TITLE_SIZE}" font-weight="bold" fill="#212121">${escape(graph.title)}</text>`,
    `<text x="${MARGIN}" y="${MARGIN + TITLE_SIZE + 8 + LINE_HEIGHT - 4}" fill="#455a64">${escape(graph.subtitle)}</text>`,
    textBlock(header, MARGIN, MARGIN + TITLE_SIZE + 8 + LINE_HEIGHT),
    `<g transform="translate(${MARGIN} ${top})">`,
    ...layout.edges.map(edgeSvg),
    ...layout.nodes.map(nodeSvg),
    `</g>`,
    `<g class="legend">${legend}</g>`,
    `</svg>`,
    "",
  ].join("\n");
}
