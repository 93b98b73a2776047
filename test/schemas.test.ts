/** The JSON contracts in specs/ hold for what detc actually prints. */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { checkJson } from "../src/cli/commands/check.js";

const schema = (name: string) => JSON.parse(readFileSync(new URL(`../specs/${name}`, import.meta.url), "utf8"));
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addSchema(schema("detector.schema.json"), "detector.schema.json");
const validateOutput = ajv.compile(schema("check-output.schema.json"));
const validateDetector = ajv.getSchema("detector.schema.json")!;

const EXAMPLES = ["vgg16_bn", "resnet50", "efficientnet_b0", "mobilenet_v3_large_fpn", "efficientnet_b0_fpn"];

it("every example's check output and detector spec match the schemas", () => {
  const files = EXAMPLES.map((name) => {
    const path = `examples/${name}.det`;
    const source = readFileSync(new URL(`../${path}`, import.meta.url), "utf8");
    return { path, source, result: checkSource(source) };
  });
  const output = checkJson(files);
  expect(validateOutput(output), ajv.errorsText(validateOutput.errors)).toBe(true);
  for (const file of output.files) for (const d of file.detectors) expect(validateDetector(d.spec), ajv.errorsText(validateDetector.errors)).toBe(true);
});

it("a spec with a dataset, classes by name and settings matches the detector schema", () => {
  const source = `detector d
backbone resnet18 trainable 3
tap layer2, layer3, layer4
fpn 128 extra maxpool
classes "cat", "dog"
input 512x384
dataset coco train "ann/train.json" images "img/train" val "ann/val.json" images "img/val"
train epochs 3 lr_steps 2 flip 0.5
rpn nms_thresh 0.6
`;
  const [detector] = checkSource(source).detectors;
  expect(detector, JSON.stringify(checkSource(source).diagnostics)).toBeDefined();
  expect(validateDetector(detector!.spec), ajv.errorsText(validateDetector.errors)).toBe(true);
  expect(detector!.spec).toMatchObject({
    classes: { count: 3, names: ["cat", "dog"] },
    input: { kind: "exact", height: 512, width: 384 },
    dataset: { format: "coco", train: { annotations: "ann/train.json", images: "img/train" } },
  });
  expect(detector!.spec.settings.train).toMatchObject({ epochs: 3, lr_steps: [2] });
  expect(detector!.spec.settings.rpn).toMatchObject({ nms_thresh: 0.6, fg_iou_thresh: 0.7 });
});

it("a diagnostics-only output matches the output schema", () => {
  const source = "detector d\nbackbone vgg16_bn\ntap features.99\nclasses 1\n";
  const output = checkJson([{ path: "x.det", source, result: checkSource(source) }]);
  expect(validateOutput(output), ajv.errorsText(validateOutput.errors)).toBe(true);
});

it("`trainable 0` (a frozen body) and `batch_norm_eps 0` are kept, not dropped as falsy", () => {
  const [detector] = checkSource("detector d\nbackbone resnet50 trainable 0 batch_norm_eps 0\ntap layer3\nclasses 21\n").detectors;
  expect(detector!.spec.backbone).toEqual({ name: "resnet50", trainable: 0, batchNormEps: 0 });
});

it("`detc check --data` output (the anchors against the data) matches the output schema", async () => {
  const { checkDetectorData } = await import("../src/anchors/analyze.js");
  const { syntheticDataset } = await import("../src/data/synthetic.js");
  const source = "detector d\nbackbone resnet18\ntap layer2, layer3\nfpn 64 extra maxpool\nclasses 5\ninput 128\n";
  const result = checkSource(source);
  const data = new Map([["d", checkDetectorData(result.analyses[0]!, syntheticDataset("train", { imageSize: 128, trainCount: 32 }))]]);
  const output = checkJson([{ path: "x.det", source, result, data }]);
  expect(output.files[0]!.detectors[0]!.data?.levels).toHaveLength(3);
  expect(validateOutput(output), ajv.errorsText(validateOutput.errors)).toBe(true);
});
