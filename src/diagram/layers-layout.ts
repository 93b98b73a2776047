/**
 * The layers view: one block per backbone layer, the backbone in columns read top to bottom and
 * left to right, the taps, pyramid and heads beside them as the stage view draws them. A stage
 * starts a new column when it does not fit below the one before, and only a stage taller than a
 * column is split; the column height is chosen so the picture comes out near 3:2.
 *
 * Edges are routed, not searched for: a layer feeds the one below it straight down; a skip
 * connection runs in a lane on the left of its column, one lane per block it enters (so a DenseNet
 * layer's concatenation of all before it is one bus, not dozens of lines); an edge between columns
 * leaves its source through a lane on the right, crosses over the columns in a channel above them,
 * and drops into its target's lane. Everything is linear in the layers, so the deepest network of
 * the zoo lays out in milliseconds at any size.
 */
import { edgeText, nodeText, PADDING, textSize, type Box, type DiagramLayout, type PlacedEdge, type PlacedNode, type TextLine } from "./layout.js";
import type { DiagramEdge, DiagramGraph } from "./model.js";
import { layoutStages, shiftedRight, wrapText } from "./stage-layout.js";

/** Between two blocks of a column. */
const GAP = 14;
/** Between two blocks whose edge carries a label (the shape changed). */
const LABELLED_GAP = 34;
/** Between neighbouring lanes, and between the tracks of the channel above the columns. */
const LANE = 8;
const COLUMN_GAP = 28;
/** Width over height the column height aims at: a screen's or a page's landscape. */
const ASPECT = 1.5;
/** Candidate column heights grow by this factor. */
const HEIGHT_STEP = 1.12;

type Point = readonly [number, number];
type Size = { readonly width: number; readonly height: number };

/** A backbone edge's route class: straight down, in a lane of its column, or over the columns. */
type Route = "down" | "lane" | "over";

interface Arrangement {
  /** The spine's blocks, column by column. */
  readonly columns: readonly (readonly string[])[];
  readonly nodes: readonly PlacedNode[];
  readonly edges: readonly PlacedEdge[];
  readonly width: number;
  readonly height: number;
}

export function layoutLayers(graph: DiagramGraph): DiagramLayout {
  const { nodes, edges } = bestArrangement(graph);
  return shiftedRight(graph, nodes, edges);
}

/** The backbone's blocks in the columns the layers view draws (DOT's layers view keeps them too). */
export const layerColumns = (graph: DiagramGraph): readonly (readonly string[])[] => bestArrangement(graph).columns;

/** The arrangement whose picture comes nearest {@link ASPECT}, over column heights from one block to all. */
function bestArrangement(graph: DiagramGraph): Arrangement {
  const spine = graph.nodes.filter((n) => n.part === "input" || n.part === "backbone");
  const onSpine = new Set(spine.map((n) => n.id));
  const side = layoutStages({ ...graph, nodes: graph.nodes.filter((n) => !onSpine.has(n.id)), edges: graph.edges.filter((e) => !onSpine.has(e.from) && !onSpine.has(e.to)) });
  const text = new Map(spine.map((n) => [n.id, wrapText(nodeText(n))]));
  const size = new Map(spine.map((n) => [n.id, textSize(text.get(n.id) ?? [], PADDING)]));
  const labels = shownLabels(graph, spine.map((n) => n.id));
  const stageRuns = runsOfStages(graph, spine.map((n) => n.id));
  const clean = cleanCuts(graph, spine.map((n) => n.id));

  const tallest = Math.max(...[...size.values()].map((s) => s.height));
  const total = [...size.values()].reduce((sum, s) => sum + s.height + LABELLED_GAP, 0);
  let best: Arrangement | undefined;
  for (let height = tallest; ; height = Math.min(height * HEIGHT_STEP, total)) {
    const arrangement = arrange(graph, packColumns(stageRuns, size, clean, height), { size, text, labels, side });
    if (!best || misfit(arrangement) < misfit(best)) best = arrangement;
    if (height >= total) return best;
  }
}

const misfit = ({ width, height }: Arrangement) => Math.abs(Math.log(width / Math.max(height, 1) / ASPECT));

/** The spine's blocks grouped by stage, in order; the input (which has none) joins the first stage. */
function runsOfStages(graph: DiagramGraph, spine: readonly string[]): string[][] {
  const stageOf = new Map(graph.nodes.map((n) => [n.id, n.stage]));
  const runs: string[][] = [];
  let current: string | undefined;
  for (const id of spine) {
    const stage = stageOf.get(id) ?? current;
    const last = runs[runs.length - 1];
    if (last && (stage === current || current === undefined)) last.push(id);
    else runs.push([id]);
    current = stage;
  }
  return runs;
}

/**
 * Where the spine can be cut between two columns without cutting a skip connection: before block
 * i when no edge but the one from block i-1 reaches from above the cut to below it.
 */
function cleanCuts(graph: DiagramGraph, spine: readonly string[]): Set<string> {
  const index = new Map(spine.map((id, i) => [id, i]));
  const crossing = new Array<number>(spine.length + 1).fill(0);
  for (const edge of graph.edges) {
    const [from, to] = [index.get(edge.from), index.get(edge.to)];
    if (from === undefined || to === undefined || to === from + 1) continue;
    crossing[from + 1]!++;
    crossing[to]!--;
  }
  const clean = new Set<string>();
  let open = 0;
  spine.forEach((id, i) => {
    open += crossing[i]!;
    if (open === 0) clean.add(id);
  });
  return clean;
}

/**
 * Whole stages into columns no taller than `height`. A stage taller than that alone is cut into
 * as many columns as it needs, of even heights, at the clean cut nearest each even share.
 */
function packColumns(stageRuns: readonly (readonly string[])[], size: ReadonlyMap<string, Size>, clean: ReadonlySet<string>, height: number): string[][] {
  const blockHeight = (id: string) => (size.get(id)?.height ?? 0) + GAP;
  const columns: string[][] = [];
  let used = Infinity;
  for (const run of stageRuns) {
    const runHeight = run.reduce((sum, id) => sum + blockHeight(id), 0);
    if (used + runHeight <= height) {
      columns[columns.length - 1]!.push(...run);
      used += runHeight;
      continue;
    }
    const parts = Math.ceil(runHeight / height);
    const starts = new Set(evenCuts(run, blockHeight, clean, parts));
    run.forEach((id, i) => {
      if (i === 0 || starts.has(i)) columns.push([]);
      columns[columns.length - 1]!.push(id);
    });
    used = run.slice(Math.max(0, ...starts)).reduce((sum, id) => sum + blockHeight(id), 0);
  }
  return columns;
}

/** Indices where the run's parts 2…n start: the clean cut (else any cut) nearest each even share of its height. */
function evenCuts(run: readonly string[], blockHeight: (id: string) => number, clean: ReadonlySet<string>, parts: number): number[] {
  const top: number[] = [];
  run.reduce((sum, id, i) => ((top[i] = sum), sum + blockHeight(id)), 0);
  const total = run.reduce((sum, id) => sum + blockHeight(id), 0);
  const candidates = run.map((_, i) => i).filter((i) => i > 0 && clean.has(run[i]!));
  const cuts: number[] = [];
  for (let part = 1; part < parts; part++) {
    const share = (total * part) / parts;
    const near = (pool: readonly number[]) => pool.reduce<number | undefined>((best, i) => (best === undefined || Math.abs(top[i]! - share) < Math.abs(top[best]! - share) ? i : best), undefined);
    // A clean cut more than half a share away would leave a lopsided column: cut a skip instead.
    const cleanCut = near(candidates.filter((i) => i > (cuts[cuts.length - 1] ?? 0)));
    const cut = cleanCut !== undefined && Math.abs(top[cleanCut]! - share) <= total / parts / 2 ? cleanCut : near(run.map((_, i) => i).filter((i) => i > (cuts[cuts.length - 1] ?? 0)));
    if (cut !== undefined) cuts.push(cut);
  }
  return cuts;
}

/**
 * Labels written on the picture: a shape where it changes (the edge out of a layer that makes a
 * new one; the rest of a chain carries the same), every problem wherever it is.
 */
function shownLabels(graph: DiagramGraph, spine: readonly string[]): Map<string, TextLine[]> {
  const onSpine = new Set(spine);
  const next = new Map(spine.map((id, i) => [id, spine[i + 1]]));
  const incoming = new Map(graph.edges.filter((e) => onSpine.has(e.to)).map((e) => [e.to, e.label]));
  const labels = new Map<string, TextLine[]>();
  for (const edge of graph.edges) {
    if (!onSpine.has(edge.from)) continue;
    const changes = onSpine.has(edge.to) && next.get(edge.from) === edge.to && edge.label !== "" && incoming.get(edge.from) !== edge.label;
    if (changes || edge.problems.length > 0) labels.set(edge.id, wrapText(edgeText(edge), 40));
  }
  return labels;
}

interface Parts {
  readonly size: ReadonlyMap<string, Size>;
  readonly text: ReadonlyMap<string, TextLine[]>;
  readonly labels: ReadonlyMap<string, TextLine[]>;
  /** Taps, pyramid and heads, laid out as in the stage view. */
  readonly side: DiagramLayout;
}

/** Where a block sits before the columns get their x and the channel its height. */
interface Slot {
  readonly column: number;
  readonly index: number;
  /** Top, from the top of the columns. */
  readonly top: number;
}

/** Lanes beside one column (or beside the side part): which bundle runs in which lane. */
interface Lanes {
  readonly left: ReadonlyMap<string, number>;
  readonly leftCount: number;
  readonly right: ReadonlyMap<string, number>;
  readonly rightCount: number;
}

function arrange(graph: DiagramGraph, columns: readonly (readonly string[])[], { size, text, labels, side }: Parts): Arrangement {
  const slot = new Map<string, Slot>();
  const labelled = new Set(graph.edges.filter((e) => labels.has(e.id)).map((e) => `${e.from}\n${e.to}`));
  const columnHeight = columns.map((ids, column) => {
    let top = 0;
    ids.forEach((id, index) => {
      slot.set(id, { column, index, top });
      top += (size.get(id)?.height ?? 0) + (labelled.has(`${id}\n${ids[index + 1]}`) ? LABELLED_GAP : GAP);
    });
    return top;
  });
  const sideColumn = columns.length;
  const sideBox = new Map(side.nodes.map((n) => [n.node.id, n as Box]));
  const centreY = (id: string) => {
    const s = slot.get(id);
    const box = sideBox.get(id);
    return s ? s.top + (size.get(id)?.height ?? 0) / 2 : box ? box.y + box.height / 2 : 0;
  };
  const columnOf = (id: string) => slot.get(id)?.column ?? sideColumn;

  const routed = graph.edges.filter((e) => slot.has(e.from));
  const route = new Map(
    routed.map((e): [string, Route] => {
      const [from, to] = [slot.get(e.from)!, slot.get(e.to)];
      if (to && to.column === from.column) return [e.id, to.index === from.index + 1 ? "down" : "lane"];
      return [e.id, "over"];
    }),
  );
  const lanes = assignLanes(routed, route, columnOf, centreY, columns.length + 1);

  // Columns left to right: left lanes, blocks, right lanes, gap; then the side part's lanes and itself.
  const blockLeft: number[] = [];
  const blockWidth = columns.map((ids) => Math.max(...ids.map((id) => size.get(id)?.width ?? 0)));
  let x = 0;
  lanes.forEach((lane, column) => {
    blockLeft[column] = x + (lane.leftCount + 1) * LANE;
    x = blockLeft[column]! + (blockWidth[column] ?? 0) + lane.rightCount * LANE + COLUMN_GAP;
  });
  const sideLeft = blockLeft[sideColumn]!;
  const laneX = (id: string, which: "left" | "right") => {
    const column = columnOf(id);
    const lane = lanes[column]!;
    if (which === "left") return blockLeft[column]! - (lane.left.get(id)! + 1) * LANE;
    return blockLeft[column]! + blockWidth[column]! + (lane.right.get(id)! + 1) * LANE;
  };

  const tracks = assignTracks(routed, route, laneX, labels);
  const top = tracks.height;
  const box = (id: string): Box => {
    const s = slot.get(id);
    if (!s) {
      const b = sideBox.get(id)!;
      return { ...b, x: b.x + sideLeft, y: b.y + top };
    }
    // A column's blocks share its width, so it reads as one strip.
    return { x: blockLeft[s.column]!, y: top + s.top, width: blockWidth[s.column]!, height: size.get(id)!.height };
  };

  const nodes: PlacedNode[] = [
    ...graph.nodes.filter((n) => slot.has(n.id)).map((node): PlacedNode => ({ node, ...box(node.id), text: text.get(node.id)! })),
    ...side.nodes.map((n) => ({ ...n, ...box(n.node.id) })),
  ];
  const trackY = tracks.y;
  const edges: PlacedEdge[] = [
    ...routed.map((edge) => placeEdge(edge, route.get(edge.id)!, box(edge.from), box(edge.to), labels.get(edge.id), { laneX, trackY })),
    ...side.edges.map((e) => ({
      ...e,
      points: e.points.map(([px, py]) => [px + sideLeft, py + top] as const),
      ...(e.label && { label: { ...e.label, x: e.label.x + sideLeft, y: e.label.y + top } }),
    })),
  ];
  return { columns, nodes, edges, width: sideLeft + side.width, height: top + Math.max(side.height, ...columnHeight) };
}

/**
 * Lanes are bundles: every edge into a block that does not come straight from above shares that
 * block's left lane; every edge leaving a block for another column shares that block's right lane.
 * A lane is the stretch from its highest end to its lowest; lanes that overlap are set side by side,
 * the shortest nearest its blocks, so nested skips do not cross.
 */
function assignLanes(
  routed: readonly DiagramEdge[],
  route: ReadonlyMap<string, Route>,
  columnOf: (id: string) => number,
  centreY: (id: string) => number,
  columnCount: number,
): Lanes[] {
  const entering = new Map<string, number>(); // target → highest end of its lane
  const leaving = new Set<string>();
  for (const edge of routed) {
    const how = route.get(edge.id);
    if (how === "down") continue;
    const from = how === "over" ? -Infinity : centreY(edge.from);
    entering.set(edge.to, Math.min(entering.get(edge.to) ?? Infinity, from));
    if (how === "over") leaving.add(edge.from);
  }
  return Array.from({ length: columnCount }, (_, column): Lanes => {
    const left = stack([...entering].filter(([id]) => columnOf(id) === column).map(([id, from]) => [id, from, centreY(id)]));
    const right = stack([...leaving].filter((id) => columnOf(id) === column).map((id) => [id, -Infinity, centreY(id)]));
    return { left: left.index, leftCount: left.count, right: right.index, rightCount: right.count };
  });
}

/** Intervals into rows (lanes or tracks) so that no two in a row overlap; shortest first, nearest row first. */
function stack(intervals: readonly (readonly [string, number, number])[]): { index: Map<string, number>; count: number } {
  const rows: [number, number][][] = [];
  const index = new Map<string, number>();
  const sorted = [...intervals].sort((a, b) => a[2] - a[1] - (b[2] - b[1]) || a[2] - b[2]);
  for (const [id, start, end] of sorted) {
    let row = rows.findIndex((taken) => taken.every(([s, e]) => end < s || start > e));
    if (row < 0) row = rows.push([]) - 1;
    rows[row]!.push([start, end]);
    index.set(id, row);
  }
  return { index, count: rows.length };
}

/**
 * One track over the columns per block with edges to other columns, from its right lane to its
 * farthest target's lane; a track whose edge is labelled (a chain continuing in the next column)
 * is as tall as its label, which sits on it.
 */
function assignTracks(
  routed: readonly DiagramEdge[],
  route: ReadonlyMap<string, Route>,
  laneX: (id: string, which: "left" | "right") => number,
  labels: ReadonlyMap<string, TextLine[]>,
): { readonly y: (source: string) => number; readonly height: number } {
  const reach = new Map<string, number>();
  const labelHeight = new Map<string, number>();
  for (const edge of routed) {
    if (route.get(edge.id) !== "over") continue;
    reach.set(edge.from, Math.max(reach.get(edge.from) ?? -Infinity, laneX(edge.to, "left")));
    const label = labels.get(edge.id);
    if (label) labelHeight.set(edge.from, Math.max(labelHeight.get(edge.from) ?? 0, textSize(label, 3).height + 4));
  }
  const { index, count } = stack([...reach].map(([source, end]) => [source, laneX(source, "right") - LANE / 2, end + LANE / 2]));
  const rowHeight = Array.from({ length: count }, () => LANE);
  for (const [source, row] of index) rowHeight[row] = Math.max(rowHeight[row]!, labelHeight.get(source) ?? 0);
  // Row 0 nearest the columns; y is measured up from the columns' top.
  const rowY = rowHeight.map((height, row) => rowHeight.slice(0, row).reduce((sum, h) => sum + h, 0) + height / 2 + LANE / 2);
  const height = count === 0 ? 0 : rowHeight.reduce((sum, h) => sum + h, LANE);
  return { y: (source) => height - rowY[index.get(source)!]!, height };
}

interface Routing {
  readonly laneX: (id: string, which: "left" | "right") => number;
  readonly trackY: (source: string) => number;
}

function placeEdge(edge: DiagramEdge, route: Route, a: Box, b: Box, label: TextLine[] | undefined, { laneX, trackY }: Routing): PlacedEdge {
  const centreX = (box: Box) => box.x + box.width / 2;
  const centreY = (box: Box) => box.y + box.height / 2;
  let points: Point[];
  if (route === "down") {
    points = [
      [centreX(a), a.y + a.height],
      [centreX(b), b.y],
    ];
  } else if (route === "lane") {
    const lane = laneX(edge.to, "left");
    points = [[a.x, centreY(a)], [lane, centreY(a)], [lane, centreY(b)], [b.x, centreY(b)]];
  } else {
    const [out, into, track] = [laneX(edge.from, "right"), laneX(edge.to, "left"), trackY(edge.from)];
    points = [[a.x + a.width, centreY(a)], [out, centreY(a)], [out, track], [into, track], [into, centreY(b)], [b.x, centreY(b)]];
  }
  if (!label) return { edge, points };
  // Down the column, on the track over the columns, or in the lane where the edge arrives.
  const [p, q] = route === "down" ? [points[0]!, points[1]!] : route === "over" ? [points[2]!, points[3]!] : [points[1]!, points[2]!];
  const { width, height } = textSize(label, 3);
  return { edge, points, label: { x: (p[0] + q[0]) / 2 - width / 2, y: (p[1] + q[1]) / 2 - height / 2, width, height, text: label } };
}
