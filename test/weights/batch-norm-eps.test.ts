/**
 * `batch_norm_eps`: the default is the network's own torchvision eps (whatever `frozen_batch_norm`
 * says), a written value is every batch norm's eps, and a bad one is diagnosed. Equal-stride FPN
 * taps (torchvision's mobilenet detectors) are legal; decreasing ones stay an error.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { checkSource } from "../../src/check/index.js";
import { buildFasterRCNN } from "../../src/detection/faster-rcnn.js";
import { selectBackend } from "../../src/engine/backend.js";
import { format } from "../../src/language/printer.js";
import { forwardFeatures } from "../../src/weights/forward-features.js";
import { formulaImage } from "./support.js";

beforeAll(() => selectBackend("auto"));

const detector = (backbone: string, rest = "tap features.3\n") => `detector d\nbackbone ${backbone}\n${rest}classes 3\ninput 64\n`;
const checked = (source: string) => checkSource(source);
const epsOf = (backbone: string, tap = "features.3") => checked(detector(backbone, `tap ${tap}\n`)).detectors[0]!.spec.backbone.batchNormEps;

describe("batch_norm_eps", () => {
  it("defaults to the network's own torchvision eps: 1e-3 for MobileNetV3 and EfficientNetV2, else 1e-5, none without batch norm", () => {
    expect(epsOf("mobilenet_v3_large")).toBe(1e-3);
    expect(epsOf("mobilenet_v3_small")).toBe(1e-3);
    expect(epsOf("efficientnet_v2_s")).toBe(1e-3);
    expect(epsOf("efficientnet_b0")).toBe(1e-5);
    expect(epsOf("mobilenet_v2")).toBe(1e-5);
    expect(epsOf("resnet50", "layer2")).toBe(1e-5);
    expect(epsOf("vgg16", "features.15")).toBeUndefined();
  });

  it("is kept as written (0 included) and printed back by `detc fmt`", () => {
    const source = "detector d\nbackbone resnet50   trainable 2  batch_norm_eps 0\ntap layer3\nclasses 21\n";
    expect(checked(source).detectors[0]!.spec.backbone).toMatchObject({ trainable: 2, batchNormEps: 0 });
    expect(format(source)).toContain("backbone resnet50 trainable 2 batch_norm_eps 0\n");
    expect(checked("detector d\nbackbone mobilenet_v3_large batch_norm_eps 1e-5\ntap features.6\nclasses 21\n").detectors[0]!.spec.backbone.batchNormEps).toBe(1e-5);
  });

  it.each([
    ["-1", "negative"],
    ["1e999", "too large to be a number"],
  ])("`batch_norm_eps %s` is error E006 (%s), with the network's own eps as the fix", (value, label) => {
    const { diagnostics } = checked(`detector d\nbackbone mobilenet_v3_large batch_norm_eps ${value}\ntap features.6\nclasses 21\n`);
    expect(diagnostics.map((d) => d.code)).toEqual(["E006"]);
    expect(diagnostics[0]!.primary.message).toBe(label);
    expect(diagnostics[0]!.hint).toBe("leave it out to keep mobilenet_v3_large's own eps, 0.001");
  });

  it("changes the numbers with frozen and with trained batch norm alike", () => {
    const outputs = (eps: string, frozen: boolean) => {
      const source = detector(`mobilenet_v3_small${eps}`, `tap features.3\ntrain frozen_batch_norm ${frozen}\n`);
      const model = buildFasterRCNN(checked(source).detectors[0]!.spec, { namePrefix: `eps${eps}${frozen}/` });
      // Running variances near 0, so eps decides the scale.
      for (const [key, variable] of model.variables()) if (key.endsWith("running_var")) variable.assign(tf.fill(variable.shape, 1e-4));
      try {
        const maps = forwardFeatures(model, formulaImage());
        const values = maps["body.0"]!.dataSync();
        tf.dispose(Object.values(maps));
        return values;
      } finally {
        model.dispose();
      }
    };
    const ownFrozen = outputs("", true);
    expect(outputs("", false)).toEqual(ownFrozen);
    expect(outputs(" batch_norm_eps 0.001", true)).toEqual(ownFrozen);
    expect(outputs(" batch_norm_eps 1e-5", true)).not.toEqual(ownFrozen);
  });
});

describe("FPN tap order", () => {
  it("equal strides are legal, as torchvision's fasterrcnn_mobilenet_v3_large_fpn taps features.13 and features.16 (both stride 32)", () => {
    const source = `detector d\nbackbone mobilenet_v3_large\ntap features.13, features.16\nfpn 256 extra maxpool\nanchors sizes (64, 128), (64, 128), (128, 256) ratios 1.0\nroi align 7 sampling 2\nclasses 21\n`;
    const result = checked(source);
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    expect(result.detectors[0]!.levels.map((l) => l.stride)).toEqual([32, 32, 64]);
  });

  it("decreasing strides stay error E015", () => {
    const source = `detector d\nbackbone mobilenet_v3_large\ntap features.16, features.6\nfpn 256\nclasses 21\n`;
    expect(checked(source).diagnostics.map((d) => d.code)).toContain("E015");
  });
});
