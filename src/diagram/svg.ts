/** The laid-out diagram as a standalone SVG document: title, blocks, labelled edges, legend. */
import { CHAR_WIDTH, FONT_SIZE, LINE_HEIGHT, textWidth, type DiagramLayout, type PlacedEdge, type PlacedNode, type TextLine } from "./layout.js";
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
      // A wrapped line's continuation starts with no-break spaces, which renderers may drop: indent by position.
      const indent = line.text.length - line.text.replace(/^\u00a0+/, "").length;
      return `<text x="${round(x + indent * CHAR_WIDTH)}" y="${round(top + (i + 1) * LINE_HEIGHT - 4)}" fill="${lineColour(line)}"${weight}>${escape(line.text.slice(indent))}</text>`;
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
  if (placed.shape === "junction") {
    const [cx, cy, r] = [placed.x + placed.width / 2, placed.y + placed.height / 2, placed.width / 2];
    const title = `<title>${escape([...placed.text.map((l) => l.text), ...node.problems.map((p) => `${p.severity}[${p.code}]: ${p.message}`)].join("\n"))}</title>`;
    return (
      `<g class="node part-${node.part} junction${problem ? " problem" : ""}" id="node-${escape(node.id)}">${title}` +
      `<circle cx="${round(cx)}" cy="${round(cy)}" r="${round(r)}" fill="${style.fill}" ${stroke}/>` +
      `<path d="M${round(cx - r / 2)} ${round(cy)} H${round(cx + r / 2)} M${round(cx)} ${round(cy - r / 2)} V${round(cy + r / 2)}" stroke="${style.stroke}" stroke-width="2"/>` +
      `</g>`
    );
  }
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
  readonly junction?: boolean;
}

function legendEntries(layout: DiagramLayout): LegendEntry[] {
  const parts = new Set(layout.graph.nodes.map((n) => n.part));
  const entries: LegendEntry[] = (Object.keys(PART_STYLE) as Part[]).filter((p) => parts.has(p)).map((p) => PART_STYLE[p]);
  const problems = [...layout.graph.nodes.flatMap((n) => n.problems), ...layout.graph.edges.flatMap((e) => e.problems), ...layout.graph.unplaced];
  if (layout.nodes.some((n) => n.shape === "junction")) entries.push({ ...PART_STYLE.fpn, name: "top-down: upsample ×2, add", junction: true });
  for (const severity of ["error", "warning"] as const)
    if (problems.some((p) => p.severity === severity)) entries.push({ fill: "#ffffff", stroke: SEVERITY_COLOUR[severity], name: `${severity} (code)` });
  return entries;
}

const SWATCH = 14;
const LEGEND_ROW = 24;

/** Legend entries flow left to right in rows no wider than the picture. */
function legendSvg(entries: readonly LegendEntry[], left: number, top: number, maxWidth: number): { svg: string; height: number } {
  const parts: string[] = [];
  let [x, y] = [0, 0];
  for (const entry of entries) {
    const width = SWATCH + 6 + textWidth(entry.name) + 20;
    if (x > 0 && x + width > maxWidth) [x, y] = [0, y + LEGEND_ROW];
    const [sx, sy] = [left + x, top + y];
    parts.push(
      entry.junction
        ? `<circle cx="${sx + SWATCH / 2}" cy="${sy + SWATCH / 2}" r="${SWATCH / 2}" fill="${entry.fill}" stroke="${entry.stroke}" stroke-width="1.2"/>` +
            `<path d="M${sx + 3.5} ${sy + SWATCH / 2} H${sx + SWATCH - 3.5} M${sx + SWATCH / 2} ${sy + 3.5} V${sy + SWATCH - 3.5}" stroke="${entry.stroke}" stroke-width="1.6"/>`
        : `<rect x="${sx}" y="${sy}" width="${SWATCH}" height="${SWATCH}" rx="3" fill="${entry.fill}" stroke="${entry.stroke}" stroke-width="2"/>`,
      `<text x="${sx + SWATCH + 6}" y="${sy + SWATCH - 2}" fill="#212121">${escape(entry.name)}</text>`,
    );
    x += width;
  }
  return { svg: parts.join(""), height: y + LEGEND_ROW };
}

export function diagramSvg(layout: DiagramLayout): string {
  const { graph } = layout;
  const header: TextLine[] = graph.unplaced.map((p) => ({ text: `${p.code} ${p.message}`, kind: p.severity }));
  const headerHeight = TITLE_SIZE + 8 + LINE_HEIGHT + header.length * LINE_HEIGHT + 16;
  const widest = Math.max(layout.width, textWidth(graph.subtitle), graph.title.length * TITLE_SIZE * 0.62, ...header.map((l) => textWidth(l.text)));
  const top = MARGIN + headerHeight;
  const legend = legendSvg(legendEntries(layout), MARGIN, top + layout.height + 20, Math.max(widest, 480));
  const width = Math.ceil(Math.max(widest, 480) + 2 * MARGIN);
  const height = Math.ceil(top + layout.height + 20 + legend.height + MARGIN);

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
    `<g class="legend">${legend.svg}</g>`,
    `</svg>`,
    "",
  ].join("\n");
}
