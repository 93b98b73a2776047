/**
 * torchvision weights in detc: with the same random weights (loaded from torch-written files) and
 * image, the transform, backbone, FPN and RPN head match torchvision's outputs
 * (make_weight_goldens.py) for a network of every zoo family; mismatches are reported;
 * export → load is lossless.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { loadSpec } from "../../src/cli/spec.js";
import { buildFasterRCNN, type FasterRCNN } from "../../src/detection/faster-rcnn.js";
import { selectBackend } from "../../src/engine/backend.js";
import { InputError } from "../../src/util/input-error.js";
import { exportStateDict } from "../../src/weights/export-state-dict.js";
import { forwardFeatures } from "../../src/weights/forward-features.js";
import { formatWeightsReport, initialiseWeights, loadBackboneWeights, loadDetectorWeights, WeightsMismatchError } from "../../src/weights/load-weights.js";
import { writeStateDict } from "../../src/weights/state-dict.js";
import { fixture, formulaImage, readNpy, relativeError } from "./support.js";

const TOLERANCE = 1e-4;

beforeAll(() => selectBackend("auto"));

function model(network: string, prefix: string): FasterRCNN {
  return buildFasterRCNN(loadSpec(fixture(`${network}.det`)).spec, { namePrefix: prefix });
}

/** Every output torchvision's model gave (one .npy each in the fixture's folder), and no other. */
function expectParity(detector: FasterRCNN, network: string): void {
  const names = readdirSync(fixture(network)).map((file) => file.replace(/\.npy$/, "")).sort();
  const outputs = forwardFeatures(detector, formulaImage());
  try {
    expect(Object.keys(outputs).sort()).toEqual(names);
    for (const name of names) {
      const golden = readNpy(fixture(`${network}/${name}.npy`));
      expect(outputs[name]!.shape, name).toEqual(golden.shape);
      expect(relativeError(outputs[name]!.dataSync(), golden.values), name).toBeLessThanOrEqual(TOLERANCE);
    }
  } finally {
    tf.dispose(Object.values(outputs));
  }
}

describe("resnet18 + FPN", () => {
  it("loads a half-precision classifier as backbone weights and a 5-class detector's heads, and matches torchvision", () => {
    const detector = model("resnet18_fpn", "r18a/");
    try {
      const [backbone, heads] = initialiseWeights(detector, { specDir: dirname(fixture("resnet18_fpn.det")), init: fixture("resnet18_fpn_heads.pth") });
      expect(backbone!.missing).toEqual([]);
      expect(backbone!.ignored).toEqual(["fc.weight", "fc.bias"]);
      expect(heads!.replacedPredictor).toMatchObject({ fileClasses: 5, modelClasses: 3 });
      expect([backbone!.missing, heads!.missing, heads!.unexpected]).toEqual([[], [], []]);
      expect(heads!.fromEarlier).toEqual(backbone!.loaded);
      expect(formatWeightsReport(heads!)).toMatch(/box predictor: the file's has 5 classes \(with background\), this detector 3/);
      expect(detector.variables().get("backbone.body.bn1.num_batches_tracked")!.dataSync()[0]).toBe(7);
      expectParity(detector, "resnet18_fpn");
    } finally {
      detector.dispose();
    }
  });

  it("exports a state dict that loads back identically (.pth and .safetensors)", async () => {
    const folder = mkdtempSync(join(tmpdir(), "detc-export-"));
    const source = model("resnet18_fpn", "r18b/");
    try {
      initialiseWeights(source, { specDir: dirname(fixture("resnet18_fpn.det")), init: fixture("resnet18_fpn_heads.pth") });
      for (const [extension, layout] of [["pth", "tutorial"], ["safetensors", "torchvision"]] as const) {
        const path = join(folder, `model.${extension}`);
        writeStateDict(path, await exportStateDict(source, layout));
        const copy = model("resnet18_fpn", `r18${extension}/`);
        try {
          const report = loadDetectorWeights(copy, path);
          expect([report.missing, report.unexpected, report.mismatched]).toEqual([[], [], []]);
          for (const [key, variable] of source.variables()) expect(copy.variables().get(key)!.dataSync(), key).toEqual(variable.dataSync());
        } finally {
          copy.dispose();
        }
      }
    } finally {
      source.dispose();
      rmSync(folder, { recursive: true });
    }
  });
});

describe("mobilenet_v3_small + FPN", () => {
  it("loads a bfloat16 torchvision detector (keys `backbone.body.<i>`) and matches torchvision", () => {
    const detector = model("mobilenet_v3_small_fpn", "mb/");
    try {
      const report = loadDetectorWeights(detector, fixture("mobilenet_v3_small_fpn.pth"));
      expect([report.missing, report.unexpected, report.mismatched]).toEqual([[], [], []]);
      expectParity(detector, "mobilenet_v3_small_fpn");
    } finally {
      detector.dispose();
    }
  });
});

describe("efficientnet_b0 + FPN", () => {
  it("loads a float32 classifier cut after the last tap and a detector's heads ({state_dict: …}), and matches torchvision", () => {
    const detector = model("efficientnet_b0_fpn", "eff/");
    try {
      const [backbone, heads] = initialiseWeights(detector, {
        specDir: dirname(fixture("efficientnet_b0_fpn.det")),
        init: fixture("efficientnet_b0_fpn_heads.pth"),
      });
      expect([backbone!.missing, backbone!.mismatched, backbone!.ignored]).toEqual([[], [], ["classifier.1.weight", "classifier.1.bias"]]);
      expect([heads!.unexpected, heads!.mismatched]).toEqual([[], []]);
      expect(heads!.missing).toEqual([]);
      expectParity(detector, "efficientnet_b0_fpn");
    } finally {
      detector.dispose();
    }
  });
});

// Whole torchvision detectors, each body named its own way: the tutorial's `vgg.features` without
// an FPN (`backbone.<i>`), create_feature_extractor (`backbone.body.trunk_output.…`, detc's own
// names) and IntermediateLayerGetter over `features` (`backbone.body.<i>`).
describe.each([
  { network: "vgg16_bn_c4", what: "a float16 vgg16_bn detector without FPN (keys `backbone.<i>`, one map)" },
  { network: "regnet_y_400mf_fpn", what: "a bfloat16 regnet_y_400mf + FPN detector (squeeze-excitation, grouped convs)" },
  { network: "convnext_tiny_fpn", what: "a float16 convnext_tiny + FPN detector (LayerNorm2d, layer_scale, 7×7 depthwise; keys `backbone.body.<i>`)" },
])("$network", ({ network, what }) => {
  it(`loads ${what} and matches torchvision`, () => {
    const detector = model(network, `${network}/`);
    try {
      const report = loadDetectorWeights(detector, fixture(`${network}.pth`));
      expect([report.missing, report.unexpected, report.mismatched]).toEqual([[], [], []]);
      expectParity(detector, network);
    } finally {
      detector.dispose();
    }
  });
});

describe("mismatches", () => {
  it("refuses another network's file with shape mismatches (both shapes) and missing tensors, grouped by part; --allow-partial loads what fits", () => {
    const detector = model("mobilenet_v3_small_fpn", "mm/");
    try {
      let text = "";
      try {
        loadDetectorWeights(detector, fixture("resnet18_fpn_heads.pth"));
      } catch (error) {
        expect(error).toBeInstanceOf(WeightsMismatchError);
        text = (error as Error).message;
      }
      expect(text).toMatch(/shape mismatches \(\d+\):\n {4}backbone\.fpn \(\d+\): backbone\.fpn\.inner_blocks\.0\.0\.weight file \[32, 64, 1, 1\] vs model \[16, 16, 1, 1\]/);
      expect(text).toMatch(/missing from the file \(\d+\):\n {4}backbone\.body \(\d+\): /);
      expect(text).toMatch(/refused: every tensor of the backbone, FPN, RPN and box head must come from the file/);
      const partial = loadDetectorWeights(detector, fixture("resnet18_fpn_heads.pth"), { allowPartial: true });
      expect(partial.partial).toBe(true);
      expect(formatWeightsReport(partial)).toMatch(/--allow-partial: \d+ tensors stay as initialised/);
    } finally {
      detector.dispose();
    }
  });

  it("is an InputError when nothing at all fits", () => {
    const detector = model("mobilenet_v3_small_fpn", "none/");
    try {
      expect(() => loadBackboneWeights(detector, fixture("resnet18_classifier.pth"))).toThrow(InputError);
      expect(() => loadBackboneWeights(detector, fixture("resnet18_classifier.pth"))).toThrow(/none of its \d+ tensors fit backbone mobilenet_v3_small/);
    } finally {
      detector.dispose();
    }
  });
});
