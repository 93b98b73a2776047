/**
 * What a detector block means once its names are resolved: which backbone, which nodes its taps
 * are, the type (channels, stride, size) of every feature level, the anchors, RoI pooling and
 * settings with torchvision's defaults filled in. Analysis never reports; rules read it and do.
 */
import type * as ast from "../language/ast.js";
import { findBackbone, type Backbone } from "../zoo/index.js";
import { resolveTap, type BackboneGraph, type GraphNode } from "../zoo/graph.js";
import { inferTypes, featureMap, ShapeError, type NodeType } from "../zoo/infer.js";
import { resolveSettings, type Settings } from "./settings.js";
import { padTo, POOL_LEVEL } from "../util/torchvision.js";

/** torchvision's default resize (min_size 800, max_size 1333). */
export const DEFAULT_INPUT = { min: 800, max: 1333 } as const;
export const DEFAULT_RATIOS = [0.5, 1.0, 2.0] as const;

export interface FeatureLevel {
  /** How specs refer to the level: the tap as written, or `pool`. */
  readonly name: string;
  /** The backbone node it comes from (`layer3.5.relu_2`), or `pool`. */
  readonly node: string;
  /** Channels of the tapped node (what users used to print the model to find). */
  readonly channels: number;
  /** Channels after the FPN, what the RPN and RoI heads see (equal to `channels` without one). */
  readonly outChannels: number;
  readonly stride: number;
  readonly height: number;
  readonly width: number;
  readonly receptiveField: number | null;
  /** The FPN's extra max-pool level: used by the RPN only. */
  readonly extra: boolean;
}

export interface ResolvedTap {
  readonly id: ast.Identifier;
  readonly node?: GraphNode;
  readonly type?: NodeType;
}

export interface InputSize {
  readonly form: "default" | ast.InputStatement["form"];
  /** The image size levels are reported at (a square image for resize ranges). */
  readonly height: number;
  readonly width: number;
  /** After padding to a multiple of 32, what the network sees. */
  readonly paddedHeight: number;
  readonly paddedWidth: number;
  readonly min?: number;
  readonly max?: number;
}

export interface StatementsByKind {
  backbone?: ast.BackboneStatement;
  tap?: ast.TapStatement;
  fpn?: ast.FpnStatement;
  anchors?: ast.AnchorsStatement;
  roi?: ast.RoiStatement;
  classes?: ast.ClassesStatement;
  outChannels?: ast.OutChannelsStatement;
  inChannels?: ast.InChannelsStatement;
  input?: ast.InputStatement;
  dataset?: ast.DatasetStatement;
}

export interface DetectorAnalysis {
  readonly detector: ast.Detector;
  readonly name: string;
  readonly statements: StatementsByKind;
  /** Statements of a kind already seen, with the first one of that kind. */
  readonly repeated: readonly { readonly statement: ast.Statement; readonly first: ast.Statement }[];
  readonly backbone?: Backbone;
  readonly graph?: BackboneGraph;
  readonly input: InputSize;
  readonly types?: ReadonlyMap<string, NodeType>;
  readonly taps: readonly ResolvedTap[];
  /** Feature levels fed to the RPN, in tap order, plus the pool level; empty until every tap resolves. */
  readonly levels: readonly FeatureLevel[];
  readonly fpnChannels?: number;
  /** Channels every level has after the FPN (or the single tapped map): what the heads see. */
  readonly headChannels?: number;
  readonly anchorSizes: readonly (readonly number[])[];
  readonly anchorRatios: readonly number[];
  readonly anchorsWritten: boolean;
  readonly roi: { readonly outputSize: number; readonly samplingRatio: number; readonly levels: readonly string[] };
  readonly numClasses?: number;
  readonly settings: Settings;
}

const STATEMENT_SLOT: Record<Exclude<ast.Statement["kind"], "Settings">, keyof StatementsByKind> = {
  Backbone: "backbone",
  Tap: "tap",
  Fpn: "fpn",
  Anchors: "anchors",
  Roi: "roi",
  Classes: "classes",
  OutChannels: "outChannels",
  InChannels: "inChannels",
  Input: "input",
  Dataset: "dataset",
};


function inputSize(statement: ast.InputStatement | undefined): InputSize {
  const square = (form: InputSize["form"], side: number, extra: Partial<InputSize> = {}): InputSize => ({
    form,
    height: side,
    width: side,
    paddedHeight: padTo(side),
    paddedWidth: padTo(side),
    ...extra,
  });
  if (statement === undefined) return square("default", DEFAULT_INPUT.min, DEFAULT_INPUT);
  switch (statement.form) {
    case "square":
      return square("square", statement.size.value, { min: statement.size.value, max: statement.size.value });
    case "range":
      return square("range", statement.min.value, { min: statement.min.value, max: statement.max.value });
    case "exact": {
      const [height, width] = [statement.height.value, statement.width.value];
      return { form: "exact", height, width, paddedHeight: padTo(height), paddedWidth: padTo(width) };
    }
  }
}

/** The spec's settings over torchvision's defaults; malformed overrides are left to the settings rule. */
function settingsOf(statements: readonly ast.SettingsStatement[]): Settings {
  const written = new Map<string, ast.Setting>();
  for (const statement of statements)
    for (const setting of statement.settings) written.set(`${statement.section.value}.${setting.key.value}`, setting);
  return resolveSettings((section, name) => written.get(`${section}.${name}`));
}

function defaultAnchorSizes(levelCount: number, fpn: boolean): number[][] {
  if (!fpn) return [[32, 64, 128, 256, 512]];
  return Array.from({ length: levelCount }, (_, i) => [32 * 2 ** i]);
}

/**
 * Node types by backbone and input size, shared by the detectors of one file: a file of ten
 * thousand resnet50 detectors walks resnet50's graph once.
 */
export type TypeCache = Map<BackboneGraph, Map<string, ReadonlyMap<string, NodeType> | undefined>>;

function typesOf(graph: BackboneGraph, height: number, width: number, cache: TypeCache): ReadonlyMap<string, NodeType> | undefined {
  const bySize = cache.get(graph) ?? new Map<string, ReadonlyMap<string, NodeType> | undefined>();
  cache.set(graph, bySize);
  const key = `${height}x${width}`;
  if (bySize.has(key)) return bySize.get(key);
  // Padding to 32 keeps every tap at least 1×1; only a non-positive input (reported by the
  // positive-numbers rule) leaves the map empty, and then there is nothing to infer.
  let types: ReadonlyMap<string, NodeType> | undefined;
  try {
    types = inferTypes(graph, [height, width]);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
  }
  bySize.set(key, types);
  return types;
}

/** The detector's statements by kind, its settings statements, and the kinds written twice. */
function groupStatements(detector: ast.Detector) {
  const statements: StatementsByKind = {};
  const settingsStatements: ast.SettingsStatement[] = [];
  const repeated: { statement: ast.Statement; first: ast.Statement }[] = [];
  for (const statement of detector.statements) {
    if (statement.kind === "Settings") {
      settingsStatements.push(statement);
      continue;
    }
    const slot = STATEMENT_SLOT[statement.kind];
    const first = statements[slot];
    if (first !== undefined) repeated.push({ statement, first });
    else (statements as Record<string, ast.Statement>)[slot] = statement;
  }
  return { statements, settingsStatements, repeated };
}

/** Each written tap with the graph node it names and that node's type, where they exist. */
function resolveTaps(tap: ast.TapStatement | undefined, graph: BackboneGraph | undefined, types: ReadonlyMap<string, NodeType> | undefined): ResolvedTap[] {
  // Resolving walks the graph, so each different name is resolved once however often it is tapped.
  const resolved = new Map<string, GraphNode | undefined>();
  const resolve = (name: string) => {
    if (!graph) return undefined;
    if (!resolved.has(name)) resolved.set(name, resolveTap(graph, name));
    return resolved.get(name);
  };
  return (tap?.nodes ?? []).map((id) => {
    const node = resolve(id.value);
    return { id, node, type: node && types?.get(node.name) };
  });
}

/** The feature pyramid, one level per tap plus the max-pool level; empty unless every tap is a spatial map. */
function featureLevels(taps: readonly ResolvedTap[], fpnChannels: number | undefined, extraPool: boolean): FeatureLevel[] {
  const levels: FeatureLevel[] = [];
  for (const { id, node, type } of taps) {
    const map = type && featureMap(type);
    if (!node || !type || !map || type.stride === null) return [];
    const { channels, height, width } = map;
    levels.push({
      name: id.value,
      node: node.name,
      channels,
      outChannels: fpnChannels ?? channels,
      stride: type.stride,
      height,
      width,
      receptiveField: type.receptiveField,
      extra: false,
    });
  }
  const last = levels.at(-1);
  if (last && extraPool && fpnChannels !== undefined) {
    // LastLevelMaxPool: max_pool2d(kernel 1, stride 2) on the last FPN output.
    const halve = (n: number) => Math.floor((n - 1) / 2) + 1;
    levels.push({
      name: POOL_LEVEL,
      node: POOL_LEVEL,
      channels: fpnChannels,
      outChannels: fpnChannels,
      stride: last.stride * 2,
      height: halve(last.height),
      width: halve(last.width),
      receptiveField: last.receptiveField,
      extra: true,
    });
  }
  return levels;
}

/** The analyses a detector goes through, in order: statements, backbone and input, taps, levels, heads. */
export function analyzeDetector(detector: ast.Detector, cache: TypeCache = new Map()): DetectorAnalysis {
  const { statements, settingsStatements, repeated } = groupStatements(detector);
  const backbone = statements.backbone?.name ? findBackbone(statements.backbone.name.value) : undefined;
  const graph = backbone?.graph();
  const input = inputSize(statements.input);
  const types = graph && typesOf(graph, input.paddedHeight, input.paddedWidth, cache);
  const taps = resolveTaps(statements.tap, graph, types);
  const fpnChannels = statements.fpn?.channels?.value;
  const extraPool = statements.fpn?.extra !== undefined;
  const levels = featureLevels(taps, fpnChannels, extraPool);

  const tapChannels = taps.map((t) => t.type && featureMap(t.type)?.channels);
  const headChannels = fpnChannels ?? (taps.length > 0 ? tapChannels[0] : undefined);
  const levelCount = taps.length + (extraPool ? 1 : 0);
  const anchors = statements.anchors;
  const classes = statements.classes;
  const numClasses = classes?.count?.value ?? (classes?.names ? classes.names.length + 1 : undefined);

  return {
    detector,
    name: detector.name?.value ?? "",
    statements,
    repeated,
    backbone,
    graph,
    input,
    types,
    taps,
    levels,
    fpnChannels,
    headChannels,
    anchorSizes: anchors ? anchors.sizes.map((g) => g.sizes.map((s) => s.value)) : defaultAnchorSizes(levelCount, !!statements.fpn),
    anchorRatios: anchors ? anchors.ratios.map((r) => r.value) : DEFAULT_RATIOS,
    anchorsWritten: anchors !== undefined,
    roi: {
      outputSize: statements.roi?.outputSize?.value ?? 7,
      samplingRatio: statements.roi?.samplingRatio?.value ?? 2,
      levels: statements.roi?.levels?.map((l) => l.value) ?? taps.map((t) => t.id.value),
    },
    numClasses,
    settings: settingsOf(settingsStatements),
  };
}
