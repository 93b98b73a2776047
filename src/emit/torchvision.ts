/**
 * `detc emit torchvision`: a checked detector as the Python module the seed tutorial writes by hand
 * (create_feature_extractor body, FeaturePyramidNetwork + LastLevelMaxPool, AnchorGenerator,
 * MultiScaleRoIAlign, FasterRCNN), with every number detc inferred written in and commented. Its
 * state-dict keys are the ones `detc export` writes, so an exported file loads with strict=True.
 * Pure: a summary in, Python source out. Paths in the spec must already be relative to the folder
 * the module is written to (the generated code resolves them against its own location).
 */
import { DEFAULT_SETTINGS, sectionEntries, type Section } from "../check/settings.js";
import type { DetectorSummary } from "../check/summary.js";
import { bodyFromFeatures, DEFAULT_LAYOUT, type Layout } from "../weights/layouts.js";
import { ancestors, ownBatchNormEps, stateEntries } from "../zoo/graph.js";
import { findBackbone } from "../zoo/index.js";
import { inferTypes } from "../zoo/infer.js";
import { stages } from "../zoo/stages.js";
import { pyList, pyNumber, pyString, pyTuple } from "./python.js";

export interface EmitOptions {
  /** The spec file, named in the module's docstring. */
  readonly source: string;
  /** The name the module is imported by (its file name without `.py`). */
  readonly moduleName: string;
  /** Whose state-dict keys the model has (`detc export --layout`); default the tutorial's. */
  readonly layout?: Layout;
}

/** torchvision's level names: taps become "0", "1", …; LastLevelMaxPool adds "pool". */
const levelName = (index: number) => String(index);

const isInside = (key: string, module: string) => key.startsWith(module + ".");

const FEATURES = "features";

/**
 * The module the body is extracted from. In torchvision's layout, `features` when every tap is
 * inside it (vgg, mobilenet, efficientnet, convnext), as its detection builders
 * (`_mobilenet_extractor`) take it: keys `backbone.body.<i>.…` with an FPN, `backbone.<i>.…`
 * without (`layouts.ts`). Otherwise, and always in the tutorial's layout, the whole network.
 */
function bodyRoot(detector: DetectorSummary, layout: Layout): typeof FEATURES | undefined {
  return layout === "torchvision" && bodyFromFeatures(detector.spec.taps.map((t) => t.node)) ? FEATURES : undefined;
}

/** A name in the network as the body names it. */
function nameInBody(detector: DetectorSummary, layout: Layout): (name: string) => string {
  const root = bodyRoot(detector, layout);
  return root ? (name) => name.slice(root.length + 1) : (name) => name;
}

/**
 * The body modules whose parameters `trainable N` freezes (torchvision's `trainable_layers`
 * counted over detc's stages), each as the largest module holding only frozen parameters.
 */
export function frozenModules(detector: DetectorSummary, layout: Layout): string[] {
  const { spec } = detector;
  const graph = findBackbone(spec.backbone.name)!.graph();
  const taps = spec.taps.map((t) => t.node);
  const all = stages(graph, taps);
  const inBody = nameInBody(detector, layout);
  // As `detc run`: 3 stages train with pretrained weights, every stage from random ones.
  const trainable = spec.backbone.trainable ?? (spec.backbone.weights !== undefined ? 3 : all.length);
  const frozen = new Set(all.slice(0, Math.max(0, all.length - trainable)).flatMap((s) => s.stateKeys.map(inBody)));
  const used = stateEntries(ancestors(graph, taps)).map((e) => inBody(e.key));
  const whollyFrozen = (module: string) => used.every((key) => !isInside(key, module) || frozen.has(key));
  const modules = new Set<string>();
  for (const key of frozen) {
    const parts = key.split(".").slice(0, -1);
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("."));
    modules.add(prefixes.find(whollyFrozen)!);
  }
  return [...modules];
}

/**
 * The levels tapped on channels-last maps ([N, H, W, C]: Swin's stages), which the body hands on
 * permuted to NCHW, as torchvision's detection users permute Swin's features.
 */
function channelsLastLevels(detector: DetectorSummary): string[] {
  const graph = findBackbone(detector.spec.backbone.name)!.graph();
  const types = inferTypes(graph, [detector.input.height, detector.input.width]);
  return detector.spec.taps.flatMap((tap, i) => (types.get(tap.node)?.layout === "nhwc" ? [levelName(i)] : []));
}

/** Appends `permute(0, 3, 1, 2)` to the extractor's outputs `names`, keeping its modules (and state-dict keys). */
const CHANNELS_FIRST = `

def channels_first(body, names):
    """The extractor \`body\` with its outputs \`names\` ([N, H, W, C] maps) permuted to [N, C, H, W]."""
    for graph in (body.train_graph, body.eval_graph):  # one graph per mode; train(mode) recompiles
        output = next(node for node in graph.nodes if node.op == "output")
        outputs = dict(output.args[0])
        with graph.inserting_before(output):
            for name in names:
                outputs[name] = graph.call_method("permute", (outputs[name], 0, 3, 1, 2))
        output.args = (outputs,)
    body.recompile()
    return body
`;

/**
 * The spec's `batch_norm_eps` when it is not the network's own (torchvision's stock COCO ResNet-50
 * detector runs at 0, its mobilenet detectors at FrozenBatchNorm2d's 1e-5); undefined otherwise.
 */
function changedBatchNormEps(detector: DetectorSummary): number | undefined {
  const { backbone } = detector.spec;
  const own = ownBatchNormEps(findBackbone(backbone.name)!.graph());
  return backbone.batchNormEps !== undefined && backbone.batchNormEps !== own ? backbone.batchNormEps : undefined;
}

/** FasterRCNN keyword arguments for the settings that differ from torchvision's defaults. */
function changedSettings(detector: DetectorSummary, section: Extract<Section, "rpn" | "box">): string[] {
  return sectionEntries(section, detector.spec.settings[section]).flatMap(({ name, spec, value }) =>
    typeof value === "number" && name !== "representation_size" && value !== spec.default
      ? [`${section}_${name}=${pyNumber(value, spec.type === "number")},`]
      : [],
  );
}

function transformArguments(detector: DetectorSummary): string[] {
  const { input } = detector.spec;
  if (input.kind === "resize") return [`min_size=${input.min},`, `max_size=${input.max},`];
  // GeneralizedRCNNTransform's fixed_size is (width, height).
  return [
    `min_size=${Math.min(input.height, input.width)},`,
    `max_size=${Math.max(input.height, input.width)},`,
    `fixed_size=(${input.width}, ${input.height}),`,
  ];
}

const indent = (lines: readonly string[], depth: number) => lines.map((l) => " ".repeat(depth) + l).join("\n");

/** The values the module's text is made of, each computed once from the summary. */
interface ModulePlan {
  readonly detector: DetectorSummary;
  /** The body's root module inside the network (`bodyRoot`). */
  readonly root: typeof FEATURES | undefined;
  readonly inBody: (name: string) => string;
  /** The levels the body taps (the FPN's extra level left out). */
  readonly taps: DetectorSummary["levels"];
  readonly frozen: string[];
  /** Without an FPN the body is the whole backbone: the tutorial's extractor, or torchvision's `net.features`. */
  readonly bodyIsBackbone: boolean;
  readonly representationSize: number;
  readonly customBoxHead: boolean;
  readonly outChannels: number;
  readonly eps: number | undefined;
  readonly channelsLast: string[];
}

function planModule(detector: DetectorSummary, layout: Layout): ModulePlan {
  const { spec, levels } = detector;
  const taps = levels.filter((l) => !l.extra);
  const root = bodyRoot(detector, layout);
  const representationSize = spec.settings.box.representation_size;
  return {
    detector,
    root,
    inBody: nameInBody(detector, layout),
    taps,
    frozen: frozenModules(detector, layout),
    bodyIsBackbone: !spec.fpn && (layout === "tutorial" || root !== undefined),
    representationSize,
    customBoxHead: representationSize !== DEFAULT_SETTINGS.box.representation_size,
    outChannels: taps[0]!.outChannels,
    eps: changedBatchNormEps(detector),
    channelsLast: channelsLastLevels(detector),
  };
}

function importLines({ detector: { spec }, bodyIsBackbone, eps, customBoxHead }: ModulePlan): string[] {
  const { fpn } = spec;
  return [
    ...(spec.backbone.weights ? ["import os", "", "import torch"] : []),
    "import torchvision",
    // For the Backbone class and the batch-norm eps loop.
    ...(bodyIsBackbone && eps === undefined ? [] : ["from torch import nn"]),
    "from torchvision.models.detection import FasterRCNN",
    "from torchvision.models.detection.anchor_utils import AnchorGenerator",
    ...(customBoxHead ? ["from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead"] : []),
    "from torchvision.models.feature_extraction import create_feature_extractor",
    `from torchvision.ops import ${fpn ? "FeaturePyramidNetwork, " : ""}MultiScaleRoIAlign`,
    ...(fpn?.extraMaxPool ? ["from torchvision.ops.feature_pyramid_network import LastLevelMaxPool"] : []),
  ];
}

/** The lines of `create_backbone` between building the network and returning the backbone, each ending in a newline. */
function createBackboneSteps({ detector: { spec }, root, bodyIsBackbone, eps, channelsLast, frozen }: ModulePlan): string {
  const loadWeights = spec.backbone.weights
    ? [
        "    if backbone_weights is not None:",
        "        network.load_state_dict(torch.load(backbone_weights, map_location=\"cpu\"))",
      ]
    : [];
  const batchNormEps =
    eps === undefined
      ? []
      : [
          `    # \`batch_norm_eps ${pyNumber(eps, true)}\`: every batch norm's eps, in place of ${spec.backbone.name}'s own.`,
          "    for module in network.modules():",
          "        if isinstance(module, nn.BatchNorm2d):",
          `            module.eps = ${pyNumber(eps, true)}`,
        ];
  const extractBody = [
    ...(root
      ? [
          bodyIsBackbone
            ? `    # Tapped inside \`${root}\`, the whole backbone (\`backbone = net.${root}\`): keys \`backbone.<i>.…\`,`
            : `    # Tapped inside \`${root}\`, as torchvision's detection builders do: keys \`backbone.body.<i>.…\`,`,
          "    # the ones `detc export --layout torchvision` writes.",
        ]
      : bodyIsBackbone
        ? ["    # The extractor is the backbone, as in the tutorial: keys `backbone.<name>.…`, the ones `detc export --layout tutorial` writes."]
        : []),
    `    body = create_feature_extractor(${root ? `network.${root}` : "network"}, return_nodes=RETURN_NODES)`,
    ...(channelsLast.length ? ["    body = channels_first(body, CHANNELS_LAST)"] : []),
  ];
  const freeze = frozen.length
    ? [
        "    # `trainable " + (spec.backbone.trainable ?? 3) + "`: earlier stages keep their weights (torchvision's trainable_layers).",
        "    for name, parameter in body.named_parameters():",
        "        if any(name.startswith(module + \".\") for module in FROZEN_MODULES):",
        "            parameter.requires_grad_(False)",
      ]
    : [];
  return [...loadWeights, ...batchNormEps, ...extractBody, ...freeze].map((line) => line + "\n").join("");
}

function backboneClassSource({ detector: { spec }, bodyIsBackbone }: ModulePlan): string {
  const { fpn } = spec;
  return bodyIsBackbone
    ? ""
    : `

class Backbone(nn.Module):
    """The tapped network${fpn ? " and its feature pyramid" : ""}; FasterRCNN reads \`out_channels\`."""

    def __init__(self, body${fpn ? ", fpn" : ""}, out_channels):
        super().__init__()
        self.body = body
${fpn ? "        self.fpn = fpn\n" : ""}        self.out_channels = out_channels

    def forward(self, images):
        return ${fpn ? "self.fpn(self.body(images))" : "self.body(images)"}
`;
}

function returnBackboneSource({ detector: { spec, levels }, taps, bodyIsBackbone, outChannels }: ModulePlan): string {
  const { fpn } = spec;
  return fpn
    ? `    fpn = FeaturePyramidNetwork(
        in_channels_list=${pyList(taps.map((l) => String(l.channels)))},
        out_channels=${fpn.channels},${fpn.extraMaxPool ? "\n        extra_blocks=LastLevelMaxPool(),  # the stride-" + levels.at(-1)!.stride + " level \"pool\"" : ""}
    )
    return Backbone(body, fpn, out_channels=${fpn.channels})`
    : bodyIsBackbone
      ? `    body.out_channels = ${outChannels}  # FasterRCNN reads it
    return body`
      : `    return Backbone(body, out_channels=${outChannels})`;
}

function fasterRcnnArguments({ detector, customBoxHead, outChannels, representationSize }: ModulePlan): string[] {
  return [
    "backbone,",
    customBoxHead ? "num_classes=None,  # the box predictor below sets it" : "num_classes=num_classes,",
    ...transformArguments(detector),
    "rpn_anchor_generator=anchor_generator,",
    "box_roi_pool=roi_pool,",
    ...(customBoxHead
      ? [
          `box_head=TwoMLPHead(${outChannels} * ${detector.spec.roi.outputSize} ** 2, ${representationSize}),`,
          `box_predictor=FastRCNNPredictor(${representationSize}, num_classes),`,
        ]
      : []),
    ...changedSettings(detector, "rpn"),
    ...changedSettings(detector, "box"),
  ];
}

export function emitTorchvisionModule(detector: DetectorSummary, options: EmitOptions): string {
  const plan = planModule(detector, options.layout ?? DEFAULT_LAYOUT);
  const { spec, levels } = detector;
  const { taps, frozen, root, inBody, channelsLast } = plan;
  const returnNodes = taps.map(
    (level, i) => `${pyString(inBody(level.node))}: ${pyString(levelName(i))},  # ${level.name}: ${level.channels} channels, stride ${level.stride}`,
  );
  const levelComments = levels.map(
    (l, i) => `#   ${l.extra ? '"pool"' : pyString(levelName(i))}: ${l.outChannels} channels, stride ${l.stride}, ${l.height}×${l.width}${l.extra ? " (RPN only)" : ""}`,
  );
  const roiLevels = spec.roi.levels.map((name) => pyString(levelName(taps.findIndex((l) => l.name === name))));
  const ratios = pyTuple(spec.anchors.ratios.map((r) => pyNumber(r, true)));
  const sizes = pyTuple(spec.anchors.sizes.map((group) => pyTuple(group.map((s) => pyNumber(s)))));
  const classNames = spec.classes.names && ["__background__", ...spec.classes.names];

  return `"""Faster R-CNN \`${spec.name}\`, generated by \`detc emit torchvision\` from ${options.source}.

Built the way the seed tutorial builds it by hand, with the numbers \`detc check\` inferred written in:
${detector.parameters.total.toLocaleString("en-US")} parameters (backbone ${detector.parameters.backbone.toLocaleString("en-US")}, FPN ${detector.parameters.fpn.toLocaleString("en-US")}, RPN ${detector.parameters.rpn.toLocaleString("en-US")}, RoI heads ${detector.parameters.roiHeads.toLocaleString("en-US")}).

    from ${options.moduleName} import create_model
    model = create_model()
"""
${importLines(plan).join("\n")}
${spec.backbone.weights ? "\nHERE = os.path.dirname(os.path.abspath(__file__))\n" : ""}
NUM_CLASSES = ${spec.classes.count}${classNames ? `\nCLASS_NAMES = ${pyList(classNames.map(pyString))}` : ""}

# The tapped nodes (as \`detc check\` resolved the spec's taps${root ? `, named inside \`network.${root}\`` : ""}) and the level names they get.
RETURN_NODES = {
${indent(returnNodes, 4)}
}
${channelsLast.length ? `# Levels tapped on channels-last maps ([N, H, W, C], ${spec.backbone.name}'s stages); the detector reads [N, C, H, W].\nCHANNELS_LAST = ${pyList(channelsLast.map(pyString))}\n` : ""}${frozen.length ? `# Frozen by \`trainable\`: every parameter under these modules of the body.\nFROZEN_MODULES = ${pyList(frozen.map(pyString))}\n` : ""}${spec.backbone.weights ? `BACKBONE_WEIGHTS = os.path.join(HERE, ${pyString(spec.backbone.weights)})\n` : ""}${channelsLast.length ? CHANNELS_FIRST : ""}${backboneClassSource(plan)}

def create_backbone(${spec.backbone.weights ? "backbone_weights=BACKBONE_WEIGHTS" : ""}):
    network = torchvision.models.${spec.backbone.name}(weights=None)
${createBackboneSteps(plan)}${returnBackboneSource(plan)}


def create_model(num_classes=NUM_CLASSES):
    # Levels the RPN sees at the spec's input (${detector.input.height}×${detector.input.width} after padding):
${indent(levelComments, 4)}
    backbone = create_backbone()
    # ${detector.anchorsPerLocation[0]} anchors per location on every level.
    anchor_generator = AnchorGenerator(
        sizes=${sizes},
        aspect_ratios=(${ratios},) * ${spec.anchors.sizes.length},
    )
    roi_pool = MultiScaleRoIAlign(featmap_names=${pyList(roiLevels)}, output_size=${spec.roi.outputSize}, sampling_ratio=${spec.roi.samplingRatio})
    return FasterRCNN(
${indent(fasterRcnnArguments(plan), 8)}
    )
`;
}
