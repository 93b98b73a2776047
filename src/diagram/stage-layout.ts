/**
 * The stage view laid out as the FPN paper (its figure 1) and torchvision's documentation draw it:
 * the backbone a column going down from the input, each tap beside the stage that makes it, the
 * pyramid beside the taps with its top-down path going up, and the RPN and RoI heads to the side,
 * fed by every level through one bus. Rows and columns are computed, not searched, so every network
 * gets the same picture, no FPN edge crosses another, and the width stays a few blocks whatever the
 * depth of the backbone.
 */
import { edgeText, LINE_HEIGHT, nodeText, PADDING, textSize, type Box, type DiagramLayout, type PlacedEdge, type PlacedNode, type TextLine } from "./layout.js";
import type { DiagramEdge, DiagramGraph, DiagramNode } from "./model.js";

/** Between rows: room for a label on a vertical edge. */
const ROW_GAP = 36;
/** Between columns when no label sits in the gap. */
const COLUMN_GAP = 20;
const LABEL_MARGIN = 10;
/** The ⊕ of the top-down path. */
const JUNCTION = 26;
/** The longest line in a block or label, in characters; longer ones wrap at a separator. */
const WRAP = 28;
/** Edge labels are one line unless they carry a problem. */
const LABEL_WRAP = 40;

type Column = "spine" | "tap" | "lateral" | "merge" | "output" | "head";
const COLUMNS: readonly Column[] = ["spine", "tap", "lateral", "merge", "output", "head"];

function columnOf(node: DiagramNode): Column {
  if (node.part === "input" || node.part === "backbone") return "spine";
  if (node.part === "tap") return "tap";
  if (node.part === "rpn" || node.part === "roi") return "head";
  if (node.id.startsWith("lateral")) return "lateral";
  if (node.id.startsWith("merge")) return "merge";
  return "output"; // output<i> and pool
}

const levelIndex = (id: string) => Number(id.match(/\d+$/)?.[0]);

/** Breaks a line after `, `, ` · `, `: `, `…`, a space or a dot, continuing indented. */
function wrapLine(text: string, max = WRAP): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest.length > max) {
    let cut = -1;
    for (const separator of [", ", " · ", ": ", "…", " ", "."]) {
      const at = rest.lastIndexOf(separator, max - separator.trimEnd().length);
      if (at > 2) {
        cut = at + separator.length;
        break;
      }
    }
    if (cut < 0) break;
    lines.push(rest.slice(0, cut).trimEnd());
    rest = `\u00a0\u00a0${rest.slice(cut)}`; // SVG collapses ordinary spaces at the start of a text
  }
  lines.push(rest);
  return lines;
}

export const wrapText = (lines: readonly TextLine[], max = WRAP): TextLine[] => lines.flatMap((line) => wrapLine(line.text, max).map((text) => ({ text, kind: line.kind })));

/**
 * Labels that repeat what the picture already says beside them are left off (problems never are):
 * a tap's shape is in its block, and a pyramid row's shape is on its edge to the heads.
 */
function labelShown(edge: DiagramEdge, from: Column, sameRow: boolean): boolean {
  if (edge.problems.length > 0) return true;
  if (edge.label === "") return false;
  const withinRow = sameRow && (from === "tap" || from === "lateral" || from === "merge");
  return !withinRow && !(edge.to === "roi" && from !== "head");
}

type Size = { readonly width: number; readonly height: number };

/** Where rows and columns fall, and what every route and block is placed by. */
interface StageGrid {
  readonly column: ReadonlyMap<string, Column>;
  readonly size: ReadonlyMap<string, Size>;
  readonly row: ReadonlyMap<string, number>;
  readonly rowCount: number;
  readonly rowTop: readonly number[];
  readonly rowHeight: readonly number[];
  /** The columns some node is in, left to right. */
  readonly present: readonly Column[];
  readonly columnLeft: ReadonlyMap<Column, number>;
  readonly columnWidth: ReadonlyMap<Column, number>;
  readonly gapAfter: ReadonlyMap<Column, number>;
  /** Where the levels' bus into the heads runs. */
  readonly busX: number;
  /** The edge labels drawn, by edge id. */
  readonly labels: ReadonlyMap<string, TextLine[]>;
}

const labelSize = (label: readonly TextLine[]) => textSize(label, 3);

export function layoutStages(graph: DiagramGraph): DiagramLayout {
  const column = new Map(graph.nodes.map((n) => [n.id, columnOf(n)]));
  const text = new Map(graph.nodes.map((n) => [n.id, wrapText(nodeText(n))]));
  const size = new Map(
    graph.nodes.map((n) => [n.id, column.get(n.id) === "merge" ? { width: JUNCTION, height: JUNCTION } : textSize(text.get(n.id)!, PADDING)]),
  );
  const { row, rowCount } = assignRows(graph, column);
  const labels = new Map(
    graph.edges.flatMap((e) => (labelShown(e, column.get(e.from)!, row.get(e.from) === row.get(e.to)) ? [[e.id, wrapText(edgeText(e), LABEL_WRAP)] as const] : [])),
  );
  const rowHeight = Array.from({ length: rowCount }, (_, r) => Math.max(0, ...[...row].filter(([, nodeRow]) => nodeRow === r).map(([id]) => size.get(id)!.height)));
  const rowTop: number[] = [];
  rowHeight.reduce((top, height, r) => ((rowTop[r] = top), top + height + ROW_GAP), 0);
  const grid: StageGrid = { column, size, row, rowCount, rowTop, rowHeight, labels, ...layoutColumns(graph, column, size, row, labels) };

  const boxes = placeBlocks(graph, grid);
  const edges = graph.edges.map((edge) => routeEdge(edge, boxes, grid));
  const nodes: PlacedNode[] = graph.nodes.map((node) => ({
    node,
    ...boxes.get(node.id)!,
    text: text.get(node.id)!,
    ...(column.get(node.id) === "merge" && { shape: "junction" as const }),
  }));
  return shiftedRight(graph, nodes, edges);
}

/** Rows: the spine one after another; each tap on its stage's row, a stage's second tap below it. */
function assignRows(graph: DiagramGraph, column: ReadonlyMap<string, Column>): { row: Map<string, number>; rowCount: number } {
  const row = new Map<string, number>();
  const spine = graph.nodes.filter((n) => column.get(n.id) === "spine");
  const taps = graph.nodes.filter((n) => column.get(n.id) === "tap");
  const producer = new Map(graph.edges.filter((e) => column.get(e.to) === "tap" && column.get(e.from) === "spine").map((e) => [e.to, e.from]));
  let next = 0;
  for (const stage of spine) {
    const own = taps.filter((t) => producer.get(t.id) === stage.id);
    row.set(stage.id, next);
    own.forEach((tap, i) => row.set(tap.id, next + i));
    next += Math.max(1, own.length);
  }
  // Taps keep their order down the page, so the pyramid's rows do (an unresolved tap goes after the one before it).
  let previous = -1;
  for (const tap of taps) {
    previous = Math.max(row.get(tap.id) ?? previous + 1, previous + 1);
    row.set(tap.id, previous);
  }
  next = Math.max(next, previous + 1);
  const lastTapRow = Math.max(0, ...taps.map((t) => row.get(t.id)!));
  for (const node of graph.nodes) {
    const c = column.get(node.id)!;
    if (c === "lateral" || c === "merge" || c === "output") row.set(node.id, node.id === "pool" ? lastTapRow + 1 : row.get(`tap${levelIndex(node.id)}`) ?? 0);
  }
  return { row, rowCount: Math.max(next, ...[...row.values()].map((r) => r + 1)) };
}

/** Columns: as wide as their widest block; a gap as wide as the widest label drawn across it. */
function layoutColumns(
  graph: DiagramGraph,
  column: ReadonlyMap<string, Column>,
  size: ReadonlyMap<string, Size>,
  row: ReadonlyMap<string, number>,
  labels: ReadonlyMap<string, TextLine[]>,
): Pick<StageGrid, "present" | "columnLeft" | "columnWidth" | "gapAfter" | "busX"> {
  const present = COLUMNS.filter((c) => graph.nodes.some((n) => column.get(n.id) === c));
  const columnWidth = new Map(present.map((c) => [c, Math.max(...graph.nodes.filter((n) => column.get(n.id) === c).map((n) => size.get(n.id)!.width))]));
  const gapAfter = new Map(present.map((c) => [c, COLUMN_GAP]));
  for (const edge of graph.edges) {
    const [from, to] = [column.get(edge.from)!, column.get(edge.to)!];
    const label = labels.get(edge.id);
    if (!label || from === to || (from === "lateral" && to === "merge" && row.get(edge.from) !== row.get(edge.to))) continue;
    const bus = to === "head" ? COLUMN_GAP / 2 : 0; // the bus runs at the gap's far end
    gapAfter.set(from, Math.max(gapAfter.get(from)!, labelSize(label).width + 2 * LABEL_MARGIN + bus));
  }
  const columnLeft = new Map<Column, number>();
  present.reduce((left, c) => (columnLeft.set(c, left), left + columnWidth.get(c)! + gapAfter.get(c)!), 0);
  const levelsColumn = present.filter((c) => c !== "head").pop()!;
  const busX = columnLeft.get(levelsColumn)! + columnWidth.get(levelsColumn)! + gapAfter.get(levelsColumn)! - COLUMN_GAP / 2;
  return { present, columnLeft, columnWidth, gapAfter, busX };
}

/** Blocks: centred in their column and row; the heads stacked from the first level's row down. */
function placeBlocks(graph: DiagramGraph, { column, size, row, rowCount, rowTop, rowHeight, present, columnLeft, columnWidth }: StageGrid): Map<string, Box> {
  const boxes = new Map<string, Box>();
  for (const node of graph.nodes) {
    const c = column.get(node.id)!;
    if (c === "head") continue;
    const { width, height } = size.get(node.id)!;
    const r = row.get(node.id)!;
    boxes.set(node.id, { x: columnLeft.get(c)! + (columnWidth.get(c)! - width) / 2, y: rowTop[r]! + (rowHeight[r]! - height) / 2, width, height });
  }
  let headTop = rowTop[Math.min(...graph.nodes.filter((n) => column.get(n.id) === "output" || (column.get(n.id) === "tap" && !present.includes("output"))).map((n) => row.get(n.id)!), rowCount - 1)] ?? 0;
  for (const node of graph.nodes.filter((n) => column.get(n.id) === "head")) {
    const { width, height } = size.get(node.id)!;
    boxes.set(node.id, { x: columnLeft.get("head")! + (columnWidth.get("head")! - width) / 2, y: headTop, width, height });
    headTop += height + ROW_GAP;
  }
  return boxes;
}

function routeEdge(edge: DiagramEdge, boxes: ReadonlyMap<string, Box>, { column, row, rowTop, columnLeft, columnWidth, gapAfter, busX, labels }: StageGrid): PlacedEdge {
  const [a, b] = [boxes.get(edge.from)!, boxes.get(edge.to)!];
  const [from, to] = [column.get(edge.from)!, column.get(edge.to)!];
  const centreX = (box: Box) => box.x + box.width / 2;
  const centreY = (box: Box) => box.y + box.height / 2;
  let points: (readonly [number, number])[];
  let labelAt: readonly [number, number];
  if (from === to || (from === "output" && edge.to === "pool")) {
    // Down the spine or the heads, up the top-down path, down to the extra level: a straight line.
    const down = b.y > a.y;
    points = [
      [centreX(a), down ? a.y + a.height : a.y],
      [centreX(b), down ? b.y : b.y + b.height],
    ];
    labelAt = [centreX(a), (points[0]![1] + points[1]![1]) / 2];
  } else if (to === "head") {
    // Every level into one bus, the bus into the head.
    const port = b.y + Math.min(b.height / 2, LINE_HEIGHT + PADDING);
    points = [[a.x + a.width, centreY(a)], [busX, centreY(a)], [busX, port], [b.x, port]];
    labelAt = [columnLeft.get(from)! + columnWidth.get(from)! + (busX - columnLeft.get(from)! - columnWidth.get(from)!) / 2, centreY(a)];
  } else if (row.get(edge.from)! > row.get(edge.to)!) {
    // The coarsest lateral up into the first top-down add, through the gap between their rows.
    const between = rowTop[row.get(edge.from)!]! - ROW_GAP / 2;
    points = [[centreX(a), a.y], [centreX(a), between], [centreX(b), between], [centreX(b), b.y + b.height]];
    labelAt = [(centreX(a) + centreX(b)) / 2, between];
  } else if (row.get(edge.from)! < row.get(edge.to)!) {
    // A stage's second tap: out of the stage's lower right, down beside it.
    const turn = a.x + a.width + (columnLeft.get(to)! - a.x - a.width) / 2;
    const start = a.y + a.height - PADDING;
    points = [[a.x + a.width, start], [turn, start], [turn, centreY(b)], [b.x, centreY(b)]];
    labelAt = [turn, (start + centreY(b)) / 2];
  } else {
    points = [[a.x + a.width, centreY(a)], [b.x, centreY(b)]];
    labelAt = [columnLeft.get(from)! + columnWidth.get(from)! + gapAfter.get(from)! / 2, centreY(a)];
  }
  const label = labels.get(edge.id);
  if (!label) return { edge, points };
  const { width, height } = labelSize(label);
  return { edge, points, label: { x: labelAt[0] - width / 2, y: labelAt[1] - height / 2, width, height, text: label } };
}

/** The layout moved right so that no label sticks out left of 0. */
export function shiftedRight(graph: DiagramGraph, nodes: readonly PlacedNode[], edges: readonly PlacedEdge[]): DiagramLayout {
  const extent = [...nodes, ...edges.flatMap((e) => (e.label ? [e.label] : []))];
  const left = Math.min(0, ...extent.map((b) => b.x));
  const shift = (x: number) => x - left;
  return {
    graph,
    width: Math.max(...extent.map((b) => b.x + b.width)) - left,
    height: Math.max(...extent.map((b) => b.y + b.height)),
    nodes: nodes.map((n) => ({ ...n, x: shift(n.x) })),
    edges: edges.map((e) => ({
      ...e,
      points: e.points.map(([x, y]) => [shift(x), y] as const),
      ...(e.label && { label: { ...e.label, x: shift(e.label.x) } }),
    })),
  };
}
