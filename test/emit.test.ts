/**
 * `detc emit torchvision`, verified by running what it writes in torchvision itself (Debian's
 * python3-torchvision): every example builds with `detc check`'s parameter count and feature
 * shapes and detects in eval mode, and `detc export` files load into it with strict=True (train.py:
 * emit-train.test.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { buildFasterRCNN } from "../src/detection/faster-rcnn.js";
import { emitTorchvisionModule } from "../src/emit/torchvision.js";
import { selectBackend } from "../src/engine/backend.js";
import { exportStateDict } from "../src/weights/export-state-dict.js";
import { writeStateDict } from "../src/weights/state-dict.js";
import { LAYOUTS, layoutKey } from "../src/weights/layouts.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const PYTHON = "/usr/bin/python3";
const EXAMPLES = ["vgg16_bn", "resnet50", "efficientnet_b0", "mobilenet_v3_large_fpn", "efficientnet_b0_fpn", "quickstart"];

const hasTorchvision = spawnSync(PYTHON, ["-c", "import torchvision"]).status === 0;
const SKIP_MESSAGE = `skipped: ${PYTHON} cannot import torchvision (apt-get install python3-torchvision libopenblas0-pthread)`;
if (!hasTorchvision) console.warn(`test/emit.test.ts: ${SKIP_MESSAGE}`);

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function python(args: string[], cwd: string, timeout: number) {
  const result = spawnSync(PYTHON, args, { cwd, encoding: "utf8", timeout, env: process.env });
  if (result.status !== 0) throw new Error(`python ${args.join(" ")} exited ${result.status}:\n${result.stderr}`);
  return result.stdout;
}

/** Builds each module's model and reports what the test compares with `detc check`. */
const PROBE = `
import importlib.util, json, sys
import torch
torch.set_grad_enabled(False)
report = {}
for path, height, width in zip(sys.argv[1::3], map(int, sys.argv[2::3]), map(int, sys.argv[3::3])):
    spec = importlib.util.spec_from_file_location("emitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    model = module.create_model().eval()
    features = model.backbone(torch.zeros(1, 3, height, width))
    model.roi_heads.score_thresh = 0.0  # random weights score every class near 1/num_classes
    # A small image kept small: the full-size forward takes minutes on a CPU and tests nothing more.
    model.transform.min_size, model.transform.max_size = (160,), 160
    [detections] = model([torch.rand(3, 160, 160)])
    report[path] = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "levels": [[name, *map(int, f.shape[1:])] for name, f in features.items()],
        "boxes": list(detections["boxes"].shape),
        "labels": sorted(set(detections["labels"].tolist())),
    }
print(json.dumps(report))
`;

/**
 * The examples with a narrow box head (same keys, files a quarter the size) and batch norm that
 * trains, so only `trainable` freezes parameters; quickstart sets both itself.
 */
const narrowed = (source: string) => (/^(box|train) /m.test(source) ? source : `${source}box representation_size 64\ntrain frozen_batch_norm false\n`);

/** The zoo families the examples leave out, with frozen stages (named inside the body). */
const MORE_FAMILIES = `
detector convnext_tiny_fpn
backbone convnext_tiny trainable 1
tap features.1, features.3
fpn 32 extra maxpool
anchors sizes 16, 32, 64 ratios 1.0
roi align 7 sampling 2
classes 3
box representation_size 32

detector mobilenet_v2_c4
backbone mobilenet_v2 trainable 2
tap features.13
anchors sizes (32, 64) ratios 1.0
roi align 7 sampling 2
classes 3
box representation_size 32
train frozen_batch_norm false

detector swin_t_fpn
backbone swin_t trainable 1
tap features.1, features.3
fpn 32 extra maxpool
anchors sizes 32, 64, 128 ratios 1.0
roi align 7 sampling 2
classes 3
box representation_size 32

detector regnet_y_400mf_fpn
backbone regnet_y_400mf trainable 1
tap trunk_output.block2, trunk_output.block3
fpn 32 extra maxpool
anchors sizes 32, 64, 128 ratios 1.0
roi align 7 sampling 2
classes 3
box representation_size 32
train frozen_batch_norm false
`;

/** Loads each `detc export` file into its emitted model with strict=True; reports what it froze. */
const LOAD_STRICT = `
import importlib.util, json, sys
import torch
report = {}
for path, weights in zip(sys.argv[1::2], sys.argv[2::2]):
    spec = importlib.util.spec_from_file_location("emitted", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.create_model()
    state = torch.load(weights)
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        report[path] = {"error": str(error)}
        continue
    report[path] = {"loaded": len(state), "frozen": sorted(n for n, p in model.named_parameters() if not p.requires_grad)}
print(json.dumps(report))
`;

const BUFFER = /\.(running_mean|running_var|num_batches_tracked|relative_position_index|relative_coords_table)$/;

describe.skipIf(!hasTorchvision)(`detc emit torchvision (${hasTorchvision ? "run in torchvision" : SKIP_MESSAGE})`, () => {
  it("every example builds in torchvision with detc check's parameters and levels, and detects", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-emit-"));
    const cases = EXAMPLES.map((name) => {
      const file = `examples/${name}.det`;
      const output = join(dir, `${name}.py`);
      const { code, stderr } = detc("emit", "torchvision", file, "-o", output);
      expect(code, stderr).toBe(0);
      const [detector] = checkSource(readFileSync(join(root, file), "utf8")).detectors;
      return { output, detector: detector! };
    });
    const args = cases.flatMap(({ output, detector }) => [output, String(detector.input.height), String(detector.input.width)]);
    const report = JSON.parse(python(["-c", PROBE, ...args], dir, 110_000));
    for (const { output, detector } of cases) {
      const built = report[output];
      expect(built.parameters, detector.name).toBe(detector.parameters.total);
      expect(built.levels, detector.name).toEqual(
        detector.levels.map((l, i) => [l.extra ? "pool" : String(i), l.outChannels, l.height, l.width]),
      );
      expect(built.boxes[0], detector.name).toBeGreaterThan(0);
      expect(built.boxes[1]).toBe(4);
      expect(Math.max(...built.labels)).toBeLessThan(detector.spec.classes.count);
    }
  }, 120_000);

  it("`detc export --layout L` files load with strict=True into the `--layout L` emitted model, for every example and zoo family and both layouts", async () => {
    await selectBackend("auto");
    const detectors = [
      ...EXAMPLES.map((name) => checkSource(narrowed(readFileSync(join(root, `examples/${name}.det`), "utf8"))).detectors[0]!),
      ...checkSource(MORE_FAMILIES).detectors,
    ];
    const dir = mkdtempSync(join(tmpdir(), "detc-export-strict-"));
    try {
      const cases = [];
      for (const detector of detectors) {
        const model = buildFasterRCNN(detector.spec);
        try {
          for (const layout of LAYOUTS) {
            const name = `${detector.name}_${layout}`;
            const module = join(dir, `${name}.py`);
            const weights = join(dir, `${name}.pth`);
            writeFileSync(module, emitTorchvisionModule(detector, { source: `${detector.name}.det`, moduleName: name, layout }));
            const exported = await exportStateDict(model, layout);
            writeStateDict(weights, exported);
            // Frozen by `trainable` (batch norm trains in every case), as the layout names them.
            const frozen = [...model.variables()].filter(([key, variable]) => !variable.trainable && !BUFFER.test(key));
            cases.push({ name, module, weights, tensors: exported.size, frozen: frozen.map(([key]) => layoutKey(detector.spec, key, layout)).sort() });
          }
        } finally {
          model.dispose();
        }
      }
      const report = JSON.parse(python(["-c", LOAD_STRICT, ...cases.flatMap((c) => [c.module, c.weights])], dir, 110_000));
      for (const { name, module, tensors, frozen } of cases) expect(report[module], name).toEqual({ loaded: tensors, frozen });
      // Each way of naming the body froze its first stage.
      const frozenStem = {
        convnext_tiny_fpn_torchvision: "backbone.body.0.0.weight",
        convnext_tiny_fpn_tutorial: "backbone.body.features.0.0.weight",
        mobilenet_v2_c4_torchvision: "backbone.0.0.weight",
        mobilenet_v2_c4_tutorial: "backbone.features.0.0.weight",
        regnet_y_400mf_fpn_torchvision: "backbone.body.stem.0.weight",
        regnet_y_400mf_fpn_tutorial: "backbone.body.stem.0.weight",
        swin_t_fpn_torchvision: "backbone.body.0.0.weight",
        swin_t_fpn_tutorial: "backbone.body.features.0.0.weight",
      };
      for (const [name, key] of Object.entries(frozenStem)) expect(cases.find((c) => c.name === name)!.frozen).toContain(key);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("detc emit torchvision (without Python)", () => {
  // What runs even where torchvision is missing (the describe above is then skipped, its title
  // saying why): every number the quick start writes reaches the keyword torchvision reads.
  it("writes the spec's taps, anchors, RoIAlign, input, classes and changed settings as torchvision's arguments", () => {
    const { code, stdout, stderr } = detc("emit", "torchvision", "examples/quickstart.det");
    expect(code, stderr).toBe(0);
    for (const line of [
      'NUM_CLASSES = 5',
      'CLASS_NAMES = ["__background__", "circle", "square", "triangle", "cross"]',
      '"layer2.1.relu_1": "0",  # layer2: 128 channels, stride 8',
      "body.out_channels = 128",
      "network = torchvision.models.resnet18(weights=None)",
      "sizes=((16, 32, 64),),",
      "aspect_ratios=((0.5, 1.0, 2.0),) * 1,",
      'MultiScaleRoIAlign(featmap_names=["0"], output_size=7, sampling_ratio=2)',
      "min_size=128,",
      "max_size=128,",
      "box_head=TwoMLPHead(128 * 7 ** 2, 128),",
      "box_predictor=FastRCNNPredictor(128, num_classes),",
      "rpn_pre_nms_top_n_train=600,",
      "rpn_pre_nms_top_n_test=300,",
      "rpn_post_nms_top_n_train=300,",
      "rpn_post_nms_top_n_test=100,",
      "box_batch_size_per_image=64,",
    ])
      expect(stdout).toContain(line);
    // Settings left at torchvision's defaults are left to torchvision.
    expect(stdout).not.toMatch(/rpn_nms_thresh|box_score_thresh|rpn_fg_iou_thresh/);
  });

  it("refuses --train-script without -o", () => {
    const { code, stderr } = detc("emit", "torchvision", "examples/resnet50.det", "--train-script");
    expect(code).toBe(2);
    expect(stderr).toContain("--train-script writes train.py next to the module: give -o");
  });
});
