/**
 * Weights in every real layout, both ways (issue 13): the seed tutorial's five models and
 * torchvision's two stock detectors, built in torchvision with random weights and batch-norm
 * statistics and saved as their users save them (make_layout_goldens.py: a DDP checkpoint, a
 * {"state_dict": …} wrapper, float64/float16/bfloat16, a pre-0.13 file), load completely into their
 * detc specs, match torchvision's backbone, FPN and RPN outputs, and export back to the same keys
 * and tensors. Files that do not fit are refused with a report, or loaded with --allow-partial.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import { loadSpec } from "../../src/cli/spec.js";
import { buildFasterRCNN, type FasterRCNN } from "../../src/detection/faster-rcnn.js";
import { selectBackend } from "../../src/engine/backend.js";
import { exportStateDict } from "../../src/weights/export-state-dict.js";
import { forwardFeatures } from "../../src/weights/forward-features.js";
import { LAYOUTS, layoutKey, normaliseKeys, type Layout } from "../../src/weights/layouts.js";
import { formatWeightsReport, loadDetectorWeights, WeightsMismatchError, type WeightsReport } from "../../src/weights/load-weights.js";
import type { NamedTensor } from "../../src/weights/safetensors.js";
import { float32Values, readStateDict, writeStateDict } from "../../src/weights/state-dict.js";
import { fixture, formulaImage, readNpy, relativeError } from "./support.js";

const TOLERANCE = 1e-4;
const layouts = (name: string) => fixture(`layouts/${name}`);
const cli = inject("cli");
const folder = mkdtempSync(join(tmpdir(), "detc-layouts-"));

beforeAll(() => selectBackend("auto"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let models = 0;
const model = (name: string): FasterRCNN => buildFasterRCNN(loadSpec(layouts(`${name}.det`)).spec, { namePrefix: `layouts${models++}/` });

function withModel<T>(name: string, use: (detector: FasterRCNN) => T): T {
  const detector = model(name);
  try {
    return use(detector);
  } finally {
    detector.dispose();
  }
}

/** The fixture's tensors as torchvision reads them: unwrapped, `module.` dropped, pre-0.13 names converted. */
const torchvisionState = (name: string) => normaliseKeys(readStateDict(layouts(`${name}.pth`))).tensors;

function expectParity(detector: FasterRCNN, name: string): void {
  const size = name === "stock_mobilenet_v3_small_fpn" ? 128 : 64;
  const goldens = readdirSync(layouts(name)).map((file) => file.replace(/\.npy$/, "")).sort();
  const outputs = forwardFeatures(detector, formulaImage(size));
  try {
    expect(Object.keys(outputs).sort()).toEqual(goldens);
    for (const output of goldens) {
      const golden = readNpy(layouts(`${name}/${output}.npy`));
      expect(outputs[output]!.shape, output).toEqual(golden.shape);
      expect(relativeError(outputs[output]!.dataSync(), golden.values), output).toBeLessThanOrEqual(TOLERANCE);
    }
  } finally {
    tf.dispose(Object.values(outputs));
  }
}

/** Equal keys (but counters FrozenBatchNorm2d drops on load) and equal values. */
function expectSameState(exported: ReadonlyMap<string, NamedTensor>, expected: ReadonlyMap<string, NamedTensor>): void {
  const counters = [...exported.keys()].filter((key) => !expected.has(key));
  expect(counters.every((key) => key.endsWith(".num_batches_tracked")), counters.join(", ")).toBe(true);
  for (const [key, tensor] of expected) {
    expect(exported.get(key)?.shape, key).toEqual(tensor.shape);
    const [actual, wanted] = [float32Values(exported.get(key)!), float32Values(tensor)];
    expect(actual.findIndex((value, i) => !Object.is(value, wanted[i])), key).toBe(-1);
  }
}

const FIXTURES: { name: string; layout: Layout; found: RegExp; notes: RegExp[] }[] = [
  { name: "tutorial_vgg16_bn_c4", layout: "tutorial", found: /^the tutorial's single-map layout \(keys like `backbone\.features\.0\.weight`\)$/, notes: [] },
  {
    name: "tutorial_resnet18_c4",
    layout: "tutorial",
    found: /^the tutorial's single-map layout \(keys like `backbone\.conv1\.weight`\)$/,
    notes: [/^DDP's `module\.` prefix dropped$/],
  },
  { name: "tutorial_efficientnet_b0_c4", layout: "tutorial", found: /^the tutorial's single-map layout/, notes: [] },
  { name: "tutorial_mobilenet_v3_small_fpn", layout: "tutorial", found: /^the tutorial's FPN layout \(keys like `backbone\.body\.features\.0\.0\.weight`\)$/, notes: [] },
  { name: "tutorial_efficientnet_b0_fpn", layout: "tutorial", found: /^the tutorial's FPN layout \(keys like `backbone\.body\.features\.0\.0\.weight`\)$/, notes: [] },
  {
    name: "stock_resnet18_fpn",
    layout: "torchvision",
    found: /^the tutorial's FPN layout \(also torchvision's\) \(keys like `backbone\.body\.conv1\.weight`\)$/,
    notes: [/^10 FPN\/RPN keys named as torchvision < 0\.13 names them, converted$/],
  },
  { name: "stock_mobilenet_v3_small_fpn", layout: "torchvision", found: /^torchvision's layout \(keys like `backbone\.body\.0\.0\.weight`\)$/, notes: [] },
];

describe.each(FIXTURES)("$name", ({ name, layout, found, notes }) => {
  it("loads every tensor, says which layout it found, and matches torchvision's outputs", () =>
    withModel(name, (detector) => {
      const report = loadDetectorWeights(detector, layouts(`${name}.pth`));
      expect([report.missing, report.unexpected, report.mismatched, report.ignored]).toEqual([[], [], [], []]);
      expect(report.layout).toMatch(found);
      expect(report.notes).toHaveLength(notes.length);
      notes.forEach((note, i) => expect(report.notes[i]).toMatch(note));
      expectParity(detector, name);
    }));

  it(`exports (--layout ${layout}) the same keys and tensors torchvision saved, and converts through the other layout losslessly`, async () => {
    const detector = model(name);
    const other = LAYOUTS.find((l) => l !== layout)!;
    const converted = join(folder, `${name}.${other}.safetensors`);
    try {
      loadDetectorWeights(detector, layouts(`${name}.pth`));
      expectSameState(await exportStateDict(detector, layout), torchvisionState(name));
      writeStateDict(converted, await exportStateDict(detector, other));
    } finally {
      detector.dispose();
    }
    const copy = model(name);
    try {
      expect(loadDetectorWeights(copy, converted).missing).toEqual([]);
      expectSameState(await exportStateDict(copy, layout), torchvisionState(name));
    } finally {
      copy.dispose();
    }
  });
});

describe("examples/torchvision: torchvision's stock detectors", () => {
  const stock = JSON.parse(readFileSync(layouts("torchvision_detectors.json"), "utf8")).detectors as Record<
    string,
    {
      parameters: Record<string, number>;
      stateDict: Record<string, number[]>;
      minSize: number;
      maxSize: number;
      anchorSizes: number[][];
      aspectRatios: number[][];
      rpn: Record<string, number>;
      box: Record<string, number>;
    }
  >;
  const example = (name: string) => checkSource(readFileSync(new URL(`../../examples/torchvision/${name}.det`, import.meta.url), "utf8")).detectors[0]!;

  it.each(Object.keys(stock))("%s: parameters per part, input, anchors and RPN/box settings equal torchvision's", (name) => {
    const detector = example(name);
    const expected = stock[name]!;
    expect(detector.parameters).toEqual(expected.parameters);
    expect(detector.spec.input).toEqual({ kind: "resize", min: expected.minSize, max: expected.maxSize });
    expect(detector.spec.anchors.sizes).toEqual(expected.anchorSizes);
    expect(expected.aspectRatios.every((ratios) => ratios.join() === detector.spec.anchors.ratios.join())).toBe(true);
    expect(detector.spec.settings.rpn).toMatchObject(expected.rpn);
    expect(detector.spec.settings.box).toMatchObject(expected.box);
  });

  it.each(Object.keys(stock).slice(1))("%s: `detc export --layout torchvision` writes exactly the stock builder's keys and shapes", async (name) => {
    const detector = buildFasterRCNN(example(name).spec, { namePrefix: `${name}/` });
    try {
      const keys = [...detector.variables().keys()].map((key) => layoutKey(detector.spec, key, "torchvision"));
      expect(keys.sort()).toEqual(Object.keys(stock[name]!.stateDict).sort());
      for (const [key, variable] of detector.variables()) {
        const shape = tf.tidy(() => detector.toTorchLayout(key, variable).shape);
        expect(shape, key).toEqual(stock[name]!.stateDict[layoutKey(detector.spec, key, "torchvision")]);
      }
    } finally {
      detector.dispose();
    }
  });
});

describe("files that do not fit", () => {
  const refusal = (detector: FasterRCNN, file: string): string => {
    try {
      loadDetectorWeights(detector, file);
    } catch (error) {
      expect(error).toBeInstanceOf(WeightsMismatchError);
      return (error as Error).message;
    }
    throw new Error(`${file} loaded`);
  };
  const edited = (name: string, edit: (entries: [string, NamedTensor][]) => [string, NamedTensor][]) => {
    const path = join(folder, `${name}.edited.pth`);
    writeStateDict(path, new Map(edit([...readStateDict(layouts(`${name}.pth`))])));
    return path;
  };

  it("another network's file is refused with a report grouped by part (missing, shape mismatches with both shapes)", () =>
    withModel("tutorial_mobilenet_v3_small_fpn", (detector) => {
      const text = refusal(detector, layouts("tutorial_efficientnet_b0_fpn.pth"));
      expect(text).toMatch(/^weights .*tutorial_efficientnet_b0_fpn\.pth: the tutorial's FPN layout/);
      expect(text).toContain("21 of the detector's 72 tensors loaded, 44 missing, 7 of another shape");
      expect(text).toMatch(/missing from the file \(\d+\):\n {4}backbone\.body \(44\): backbone\.body\.features\.1\.block\.0\.0\.weight, /);
      expect(text).toMatch(/shape mismatches \(\d+\):\n {4}backbone\.body \(\d+\): backbone\.body\.features\.0\.0\.weight file \[32, 3, 3, 3\] vs model \[16, 3, 3, 3\]/);
      expect(text).toMatch(/ {4}backbone\.fpn \(2\): backbone\.fpn\.inner_blocks\.0\.0\.weight file \[16, 24, 1, 1\] vs model \[16, 16, 1, 1\]/);
      expect(text).toMatch(/unexpected in the file \(104\):\n {4}backbone\.body \(104\): /);
      expect(text).not.toContain("hint:");
      expect(text).toMatch(/\nrefused: every tensor of the backbone, FPN, RPN and box head must come from the file/);
    }));

  it("a file missing a few backbone tensors is refused, and loads with --allow-partial saying what stays as initialised", () => {
    const dropped = ["backbone.features.7.weight", "backbone.features.8.running_var"];
    const path = edited("tutorial_vgg16_bn_c4", (entries) => entries.filter(([key]) => !dropped.includes(key)));
    withModel("tutorial_vgg16_bn_c4", (detector) => {
      const text = refusal(detector, path);
      expect(text).toContain("40 of the detector's 42 tensors loaded, 2 missing");
      expect(text).toContain("missing from the file (2):\n    backbone.body (2): backbone.body.features.7.weight, backbone.body.features.8.running_var");
      const before = detector.variables().get("backbone.body.features.0.weight")!.dataSync().slice();
      const report: WeightsReport = loadDetectorWeights(detector, path, { allowPartial: true });
      expect(report.missing).toEqual(["backbone.body.features.7.weight", "backbone.body.features.8.running_var"]);
      expect(formatWeightsReport(report)).toContain("--allow-partial: 2 tensors stay as initialised");
      expect(detector.variables().get("backbone.body.features.0.weight")!.dataSync()).not.toEqual(before);
    });
  });

  it("keys under another prefix are explained by a rename hint", () => {
    const path = edited("tutorial_mobilenet_v3_small_fpn", (entries) => entries.map(([key, tensor]) => [key.replace(/^backbone\.body\./, "backbone.trunk."), tensor]));
    withModel("tutorial_mobilenet_v3_small_fpn", (detector) => {
      expect(refusal(detector, path)).toMatch(/hint: \d+ unexpected keys would fit if `backbone\.trunk\.…` were `backbone\.body\.…` \(e\.g\. `backbone\.trunk\.features\.0\.0\.weight` → `backbone\.body\.features\.0\.0\.weight`\)/);
    });
  });

  it("a box predictor for another class count is replaced, said in one line", () => {
    const path = edited("stock_resnet18_fpn", (entries) =>
      entries.map(([key, tensor]) => {
        if (!key.startsWith("roi_heads.box_predictor.")) return [key, tensor];
        const shape = [key.includes("cls_score") ? 91 : 364, ...tensor.shape.slice(1)];
        return [key, { dtype: "F32", shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) }];
      }),
    );
    withModel("stock_resnet18_fpn", (detector) => {
      const report = loadDetectorWeights(detector, path);
      expect(report.replacedPredictor).toMatchObject({ fileClasses: 91, modelClasses: 3 });
      const text = formatWeightsReport(report);
      expect(text).toContain("68 of the detector's 72 tensors loaded, 4 of the box predictor replaced");
      expect(text.split("\n").filter((line) => line.includes("box predictor:"))).toEqual([
        "  box predictor: the file's has 91 classes (with background), this detector 3; it starts freshly initialised (fine-tuning)",
      ]);
    });
  });
});

describe("the CLI", () => {
  const detc = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const spec = layouts("tutorial_vgg16_bn_c4.det");

  it("--weights with --init is a usage error (exit 2)", () => {
    const { status, stderr } = detc("forward", spec, "--weights", "a.safetensors", "--init", "b.pth", "--image", "x.png", "--out", folder);
    expect(status).toBe(2);
    expect(stderr).toContain("give --weights (a detc checkpoint) or --init (a torchvision state dict), not both");
  });

  it("export --init converts the tutorial's file to torchvision's layout; a file that does not fit exits 1", () => {
    const out = join(folder, "converted.pth");
    const converted = detc("export", spec, "--init", layouts("tutorial_vgg16_bn_c4.pth"), "--layout", "torchvision", "-o", out);
    expect(converted.status, converted.stderr).toBe(0);
    expect(converted.stderr).toContain("the tutorial's single-map layout");
    const keys = [...readStateDict(out).keys()];
    expect(keys).toContain("backbone.0.weight");
    expect(keys.filter((key) => key.startsWith("backbone.features."))).toEqual([]);
    const refused = detc("export", spec, "--init", layouts("tutorial_resnet18_c4.pth"), "-o", join(folder, "no.pth"));
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/refused: every tensor/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});

describe("file formats", () => {
  it("a truncated file, a malformed tensor and a dtype no weight has are one clear line each", () => {
    const bytes = readFileSync(layouts("tutorial_vgg16_bn_c4.pth"));
    const truncated = join(folder, "truncated.pth");
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    expect(() => readStateDict(truncated)).toThrow(/truncated/);
    expect(() => readStateDict(fixture("layouts/uint8.pth"))).toThrow(/^.*uint8\.pth: tensor mask is uint8, which no weight is/);
    expect(() => readStateDict(fixture("layouts/malformed.pth"))).toThrow(/a tensor's storage, offset, shape or strides are malformed/);
  });
});
