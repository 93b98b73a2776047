/**
 * A detector as a graph of blocks and tensor-carrying edges, built from the checker's analysis:
 * input → backbone (stages or layers) → taps → FPN → RPN → RoIAlign → box head → predictor.
 * Whatever resolves is drawn; the checker's problems are attached to the block or edge their
 * source span points at, so a broken spec still gets a diagram that shows where it breaks.
 */
import type { DetectorAnalysis } from "../check/analysis.js";
import type { Diagnostic } from "../check/diagnostic.js";
import type { Span } from "../language/ast.js";
import { ancestors, type GraphNode } from "../zoo/graph.js";
import { mapShape as featureMapShape, type NodeType } from "../zoo/infer.js";
import { stages } from "../zoo/stages.js";

/** The parts a torchvision user recognises; each has its own colour. */
export type Part = "input" | "backbone" | "tap" | "fpn" | "rpn" | "roi";

export type Detail = "stages" | "layers";

export interface Problem {
  readonly code: string;
  readonly severity: "error" | "warning";
  readonly message: string;
}

export interface DiagramNode {
  readonly id: string;
  readonly part: Part;
  readonly title: string;
  readonly lines: readonly string[];
  readonly problems: Problem[];
  /** The backbone stage a layer belongs to (layers view), so a layout can keep stages together. */
  readonly stage?: string;
}

export interface DiagramEdge {
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** The tensor it carries (`256×100×100`), or what it means when that is no tensor. */
  readonly label: string;
  readonly problems: Problem[];
}

/**
 * Block ids are stable and say what a block is, which the stage layout reads: `input`, `stage<k>`
 * (or `layer<k>`, or `backbone` when nothing resolves), `tap<i>`, `lateral<i>`, `merge<i>`,
 * `output<i>`, `pool`, `rpn`, `roi`, `boxhead`, `predictor`.
 */
export interface DiagramGraph {
  readonly detail: Detail;
  readonly title: string;
  readonly subtitle: string;
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
  /** Problems whose span is in no drawn block (dataset, training settings, …). */
  readonly unplaced: readonly Problem[];
}

const shapeText = (channels: number, height: number, width: number) => `${channels}×${height}×${width}`;

/** `C×H×W` of a spatial map (Swin's channels-last ones too), `undefined` for anything else (flattened, unknown). */
function mapShape(type: NodeType | undefined): [number, number, number] | undefined {
  const map = type && featureMapShape(type);
  return map && [map.channels, map.height, map.width];
}

const shapeLabel = (type: NodeType | undefined) => {
  const shape = mapShape(type);
  return shape ? shapeText(...shape) : "";
};

function operationText(node: GraphNode): string {
  const op = node.op;
  switch (op.kind) {
    case "conv2d":
      return `conv ${op.kernel[0]}×${op.kernel[1]}${op.stride[0] > 1 ? ` /${op.stride[0]}` : ""}${op.groups > 1 ? ` g${op.groups}` : ""}`;
    case "max_pool2d":
      return `max-pool ${op.kernel[0]}×${op.kernel[1]} /${op.stride[0]}`;
    case "activation":
      return op.fn;
    default:
      return op.kind.replace(/_/g, " ");
  }
}

class GraphBuilder {
  readonly nodes: DiagramNode[] = [];
  readonly edges: DiagramEdge[] = [];

  node(id: string, part: Part, title: string, lines: readonly string[], stage?: string): string {
    this.nodes.push({ id, part, title, lines, problems: [], ...(stage !== undefined && { stage }) });
    return id;
  }

  edge(from: string, to: string, label: string): string {
    const base = `${from}->${to}`;
    const repeats = this.edges.filter((e) => e.id === base || e.id.startsWith(`${base}#`)).length;
    const id = repeats === 0 ? base : `${base}#${repeats}`;
    this.edges.push({ id, from, to, label, problems: [] });
    return id;
  }
}

/** Where in the source a block or edge comes from, so diagnostics can find it. */
interface Anchor {
  readonly span: Span;
  readonly target: string;
}

/** What every step of {@link diagramGraph} adds to: the graph, and source spans for its diagnostics. */
interface Drawing {
  readonly g: GraphBuilder;
  readonly analysis: DetectorAnalysis;
  /** Records that `span` in the source is drawn as block or edge `target`. */
  readonly at: (span: Span | undefined, target: string | undefined) => void;
}

interface TapBlock {
  readonly id: string;
  readonly name: string;
  readonly shape: [number, number, number] | undefined;
  readonly stride: number | undefined;
}

/** A map the heads read, by level name, with the edge label it carries. */
interface LevelBlock {
  readonly name: string;
  readonly id: string;
  readonly label: string;
  readonly stride?: number;
}

/** The backbone's blocks: which block produces each graph node, and the first block. */
interface BackboneBlocks {
  readonly producerOf: ReadonlyMap<string, string>;
  readonly first: string;
}

/** The detector as blocks and labelled edges, part by part, with its problems attached where they belong. */
export function diagramGraph(analysis: DetectorAnalysis, diagnostics: readonly Diagnostic[], detail: Detail = "stages"): DiagramGraph {
  const g = new GraphBuilder();
  const anchors: Anchor[] = [];
  const drawing: Drawing = {
    g,
    analysis,
    at: (span, target) => {
      if (span && target) anchors.push({ span, target });
    },
  };
  const { statements, input } = analysis;
  const inputId = addInput(drawing);
  const backbone = addBackbone(drawing, inputId, detail);
  const taps = addTaps(drawing, backbone);
  const levels = addPyramid(drawing, taps);
  const rpn = addRpn(drawing, levels);
  addRoiHeads(drawing, rpn, levels);

  const unplaced = attachProblems(g, anchors, analysis, diagnostics);
  const backboneName = analysis.backbone?.name ?? statements.backbone?.name?.value ?? "?";
  return {
    detail,
    title: `detector ${analysis.name}`,
    subtitle: `backbone ${backboneName} · input ${input.paddedHeight}×${input.paddedWidth}${analysis.fpnChannels !== undefined ? ` · FPN ${analysis.fpnChannels}` : ""}`,
    nodes: g.nodes,
    edges: g.edges,
    unplaced,
  };
}

const inputShape = (analysis: DetectorAnalysis) => `${analysis.input.paddedHeight}×${analysis.input.paddedWidth}×3`;

function addInput({ g, analysis, at }: Drawing): string {
  const { input } = analysis;
  const id = g.node("input", "input", "input image", [inputShape(analysis), ...(input.form === "exact" ? [] : [`resize ${input.min}–${input.max}`])]);
  at(analysis.statements.input?.span, id);
  return id;
}

/** The steps each tap's node needs, collapsed to stages or one block per visible layer. */
function addBackbone(drawing: Drawing, inputId: string, detail: Detail): BackboneBlocks {
  const { g, analysis, at } = drawing;
  const { statements, graph } = analysis;
  const tapped = analysis.taps.flatMap((tap) => (tap.node ? [tap.node.name] : []));
  let producerOf = new Map<string, string>();
  let first: string;
  if (graph && tapped.length > 0) {
    producerOf = detail === "stages" ? addStages(drawing, graph, tapped, inputId) : addLayers(drawing, graph, tapped, inputId);
    // No block when every tap is the image itself: the taps read the input.
    first = g.nodes.find((n) => n.part === "backbone")?.id ?? inputId;
  } else {
    const name = statements.backbone?.name?.value ?? "backbone";
    first = g.node("backbone", "backbone", name, [graph ? "no tap resolves" : "unknown backbone"]);
    g.edge(inputId, first, inputShape(analysis));
  }
  at(statements.backbone?.span, first);
  return { producerOf, first };
}

type BackboneGraph = NonNullable<DetectorAnalysis["graph"]>;

function addStages({ g, analysis }: Drawing, graph: BackboneGraph, tapped: readonly string[], inputId: string): Map<string, string> {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const producerOf = new Map<string, string>();
  let previous = inputId;
  let previousLabel = inputShape(analysis);
  stages(graph, tapped).forEach((stage, k) => {
    const last = stage.nodes[stage.nodes.length - 1]!;
    const layers = stage.nodes.filter((n) => byName.get(n)!.visible).length;
    const id = g.node(`stage${k}`, "backbone", stage.name, [`stride ${stage.stride}`, `${layers} layer${layers === 1 ? "" : "s"}`]);
    g.edge(previous, id, previousLabel);
    for (const name of stage.nodes) producerOf.set(name, id);
    previous = id;
    previousLabel = shapeLabel(analysis.types?.get(last));
  });
  return producerOf;
}

function addLayers({ g, analysis }: Drawing, graph: BackboneGraph, tapped: readonly string[], inputId: string): Map<string, string> {
  const byName = new Map(graph.nodes.map((n) => [n.name, n]));
  const producerOf = new Map<string, string>();
  const stageOf = new Map(stages(graph, tapped).flatMap((stage) => stage.nodes.map((name) => [name, stage.name] as const)));
  // Hidden steps (inside torchvision's leaf modules) are not layers: connect through them.
  const visibleSources = (name: string): string[] => {
    const node = byName.get(name)!;
    if (node.op.kind === "input") return [inputId];
    if (node.visible) return [name];
    return node.inputs.flatMap(visibleSources);
  };
  let index = 0;
  for (const node of ancestors(graph, tapped)) {
    if (!node.visible || node.op.kind === "input") continue;
    const id = g.node(`layer${index++}`, "backbone", node.name, [operationText(node)], stageOf.get(node.name));
    producerOf.set(node.name, id);
    const sources = new Set(node.inputs.flatMap(visibleSources));
    for (const source of sources) {
      const label = source === inputId ? inputShape(analysis) : shapeLabel(analysis.types?.get(source));
      g.edge(producerOf.get(source) ?? inputId, id, label);
    }
  }
  return producerOf;
}

/** The feature maps users name; their numbers are what detc infers for them. */
function addTaps({ g, analysis, at }: Drawing, backbone: BackboneBlocks): TapBlock[] {
  const { statements } = analysis;
  const taps = analysis.taps.map((tap, i): TapBlock => {
    const shape = mapShape(tap.type);
    const stride = tap.type?.stride ?? undefined;
    const lines = tap.node
      ? [
          ...(tap.node.name === tap.id.value ? [] : [tap.node.name]),
          shape ? shapeText(...shape) : "not a feature map",
          ...(stride ? [`stride ${stride}`] : []),
        ]
      : ["unresolved"];
    const id = g.node(`tap${i}`, "tap", `tap ${tap.id.value}`, lines);
    at(tap.id.span, id);
    if (tap.node) g.edge(backbone.producerOf.get(tap.node.name) ?? backbone.first, id, "");
    return { id, name: tap.id.value, shape, stride };
  });
  at(statements.tap?.span, taps[0]?.id);
  at(statements.outChannels?.span, taps[taps.length - 1]?.id);
  return taps;
}

/** The FPN's blocks when there is one; the levels the heads read either way. */
function addPyramid({ g, analysis, at }: Drawing, taps: readonly TapBlock[]): LevelBlock[] {
  const { statements } = analysis;
  const fpn = analysis.fpnChannels;
  if (fpn === undefined || taps.length === 0) {
    return taps.map((tap) => ({ name: tap.name, id: tap.id, label: tap.shape ? shapeText(...tap.shape) : "", stride: tap.stride }));
  }
  const levels: LevelBlock[] = [];
  const lateral = taps.map((tap, i) => {
    const id = g.node(`lateral${i}`, "fpn", "lateral 1×1 conv", [`${tap.shape?.[0] ?? "?"} → ${fpn}`]);
    const edge = g.edge(tap.id, id, tap.shape ? shapeText(...tap.shape) : "");
    at(statements.inChannels?.values[i]?.span, edge);
    return id;
  });
  at(statements.inChannels?.span, lateral[0]);
  at(statements.fpn?.span, lateral[0]);
  const sized = (i: number) => (taps[i]!.shape ? shapeText(fpn, taps[i]!.shape![1], taps[i]!.shape![2]) : "");
  // Top-down path: from the coarsest level, upsample ×2 and add the next finer lateral.
  const last = taps.length - 1;
  let topDown = lateral[last]!;
  const merged: string[] = [];
  merged[last] = topDown;
  for (let i = last - 1; i >= 0; i--) {
    const id = g.node(`merge${i}`, "fpn", "top-down add", ["nearest upsample ×2 + lateral"]);
    g.edge(topDown, id, sized(i + 1));
    g.edge(lateral[i]!, id, sized(i));
    merged[i] = topDown = id;
  }
  taps.forEach((tap, i) => {
    const id = g.node(`output${i}`, "fpn", "output 3×3 conv", [`${fpn} → ${fpn}`]);
    g.edge(merged[i]!, id, sized(i));
    levels.push({ name: tap.name, id, label: sized(i), stride: tap.stride });
  });
  const pool = analysis.levels.find((l) => l.extra);
  if (pool) {
    const id = g.node("pool", "fpn", "extra max-pool", ["kernel 1, stride 2", `${pool.name} · stride ${pool.stride}`]);
    g.edge(levels[last]!.id, id, levels[last]!.label);
    levels.push({ name: pool.name, id, label: shapeText(fpn, pool.height, pool.width), stride: pool.stride });
  }
  return levels;
}

/** One shared head over every level, one anchor size group per level. */
function addRpn({ g, analysis, at }: Drawing, levels: readonly LevelBlock[]): string {
  const ratios = analysis.anchorRatios.join(", ");
  const perLevel = Math.max(levels.length, analysis.anchorSizes.length);
  const anchorLines = Array.from({ length: perLevel }, (_, i) => {
    const level = levels[i];
    const sizes = analysis.anchorSizes[i];
    const where = level ? `${level.name}${level.stride ? ` /${level.stride}` : ""}` : "(no level)";
    return `${where}: ${sizes ? `sizes ${sizes.join(", ")} → ${sizes.length * analysis.anchorRatios.length}/location` : "no sizes"}`;
  });
  const rpn = g.node("rpn", "rpn", "RPN", [`3×3 conv ${analysis.headChannels ?? "?"}, objectness + box deltas`, `ratios ${ratios}`, ...anchorLines]);
  for (const level of levels) g.edge(level.id, rpn, level.label);
  at(analysis.statements.anchors?.span, rpn);
  at(findSettings(analysis, "rpn"), rpn);
  return rpn;
}

/** MultiScaleRoIAlign over the named levels, TwoMLPHead, FastRCNNPredictor. */
function addRoiHeads({ g, analysis, at }: Drawing, rpn: string, levels: readonly LevelBlock[]): void {
  const { statements } = analysis;
  const channels = analysis.headChannels;
  const { outputSize, samplingRatio } = analysis.roi;
  const roi = g.node("roi", "roi", "MultiScaleRoIAlign", [`levels ${analysis.roi.levels.join(", ")}`, `output ${outputSize}×${outputSize} · sampling ${samplingRatio}`]);
  g.edge(rpn, roi, `proposals (≤ ${analysis.settings.rpn.post_nms_top_n_test} per image)`);
  analysis.roi.levels.forEach((name, i) => {
    const level = levels.find((l) => l.name === name && l.id !== "pool");
    const edge = level ? g.edge(level.id, roi, level.label) : undefined;
    at(statements.roi?.levels?.[i]?.span, edge ?? roi);
  });
  at(statements.roi?.span, roi);

  const hidden = analysis.settings.box.representation_size as number;
  const pooled = channels === undefined ? "?" : channels * outputSize * outputSize;
  const head = g.node("boxhead", "roi", "TwoMLPHead", [`${pooled} → ${hidden} → ${hidden}`]);
  g.edge(roi, head, `N×${channels ?? "?"}×${outputSize}×${outputSize}`);
  at(findSettings(analysis, "box"), head);
  const classes = analysis.numClasses;
  const predictor = g.node("predictor", "roi", "FastRCNNPredictor", [
    `${classes ?? "?"} classes (with background)`,
    `scores N×${classes ?? "?"} · boxes N×${classes === undefined ? "?" : 4 * classes}`,
  ]);
  g.edge(head, predictor, `N×${hidden}`);
  at(statements.classes?.span, predictor);
}

function findSettings(analysis: DetectorAnalysis, section: string): Span | undefined {
  return analysis.detector.statements.find((s) => s.kind === "Settings" && s.section.value === section)?.span;
}

const contains = (span: Span, offset: number) => span.start.offset <= offset && offset < Math.max(span.end.offset, span.start.offset + 1);
const length = (span: Span) => span.end.offset - span.start.offset;

/** Each error or warning goes to the innermost anchored span holding its primary location. */
function attachProblems(g: GraphBuilder, anchors: readonly Anchor[], analysis: DetectorAnalysis, diagnostics: readonly Diagnostic[]): Problem[] {
  const unplaced: Problem[] = [];
  const detector = analysis.detector.span;
  for (const d of diagnostics) {
    if (d.severity === "info") continue;
    const offset = d.primary.span.start.offset;
    if (offset < detector.start.offset || offset > detector.end.offset) continue;
    const problem: Problem = { code: d.code, severity: d.severity, message: d.message };
    const anchor = anchors.filter((a) => contains(a.span, offset)).sort((a, b) => length(a.span) - length(b.span))[0];
    const target = anchor && (g.nodes.find((n) => n.id === anchor.target) ?? g.edges.find((e) => e.id === anchor.target));
    if (target) target.problems.push(problem);
    else unplaced.push(problem);
  }
  return unplaced;
}
