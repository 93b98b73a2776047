/** The checker on specs users write: the seed examples' numbers, and each real error caught statically. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";

const example = (name: string) => readFileSync(new URL(`../examples/${name}.det`, import.meta.url), "utf8");
const goldens = JSON.parse(readFileSync(new URL("./fixtures/detectors.json", import.meta.url), "utf8")).detectors as Record<
  string,
  { parameters: Record<string, number>; anchorsPerLocation: number[]; levels: { name: string; shape: number[] }[] }
>;

const codes = (source: string) => checkSource(source).diagnostics.map((d) => d.code);
const only = (source: string, code: string) => {
  const found = checkSource(source).diagnostics.filter((d) => d.code === code);
  expect(found, `expected ${code} in ${JSON.stringify(checkSource(source).diagnostics.map((d) => d.code))}`).toHaveLength(1);
  return found[0]!;
};

const spec = (body: string) => `detector d\nbackbone mobilenet_v3_large\nclasses 21\n${body}\n`;

describe("seed examples", () => {
  it.each(Object.keys(goldens))("%s checks clean and matches torchvision's numbers", (name) => {
    const result = checkSource(example(name));
    expect(result.diagnostics).toEqual([]);
    const [detector] = result.detectors;
    const golden = goldens[name]!;
    expect(detector!.parameters).toEqual(golden.parameters);
    expect(detector!.anchorsPerLocation).toEqual(golden.anchorsPerLocation);
    const taps = detector!.levels.filter((l) => !l.extra);
    expect(taps.map((l) => [1, l.outChannels, l.height, l.width])).toEqual(golden.levels.slice(0, taps.length).map((l) => l.shape));
  });

  it("infers what the tutorial found by hand", () => {
    const single = ["vgg16_bn", "resnet50", "efficientnet_b0"].map((n) => checkSource(example(n)).detectors[0]!.levels[0]!);
    expect(single.map((l) => [l.channels, l.stride])).toEqual([[512, 16], [1024, 16], [112, 16]]);
    const fpn = checkSource(example("mobilenet_v3_large_fpn")).detectors[0]!;
    expect(fpn.levels.map((l) => [l.name, l.stride])).toEqual([
      ["features.6", 8],
      ["features.12", 16],
      ["features.16", 32],
      ["pool", 64],
    ]);
    expect(fpn.levels.map((l) => [l.channels, l.outChannels])).toEqual([[40, 256], [112, 256], [960, 256], [256, 256]]);
    expect(single[1]!.node).toBe("layer3.5.relu_2");
  });
});

describe("real user errors, caught before any forward pass", () => {
  it("anchor groups ≠ feature maps, counting taps + the extra level", () => {
    const d = only(spec("tap features.6, features.12, features.16\nfpn 256 extra maxpool\nanchors sizes 32, 64, 128 ratios 0.5, 1.0, 2.0"), "E030");
    expect(d.message).toBe("3 anchor size groups for 4 feature maps (3 taps + the extra max-pool level)");
    expect(d.primary.span.start.line).toBe(6);
  });

  it("a flat list on a single map suggests the parenthesised group", () => {
    const d = only("detector d\nbackbone resnet50\ntap layer3\nanchors sizes 32, 64, 128 ratios 1.0\nclasses 3\n", "E030");
    expect(d.hint).toContain("sizes (32, 64, 128)");
  });

  it("anchors per location that the shared RPN head cannot predict", () => {
    only(spec("tap features.6, features.12\nfpn 256\nanchors sizes (32, 64), (128) ratios 1.0"), "E031");
  });

  it("in_channels that disagree with inference (the '96 vs 128 channels' error)", () => {
    const d = only(spec("tap features.6, features.12, features.16\nfpn 256 extra maxpool\nin_channels 40, 96, 960"), "E021");
    expect(d.expected).toBe("112");
    expect(d.found).toBe("96");
    expect(d.primary.span.start).toMatchObject({ line: 6, column: 17 });
  });

  it("in_channels with the wrong count", () => {
    expect(only(spec("tap features.6, features.12\nfpn 256\nin_channels 40"), "E021").expected).toBe("40, 112");
  });

  it("out_channels that disagree with inference ('object has no attribute out_channels' made explicit)", () => {
    const d = only("detector d\nbackbone resnet50\ntap layer3\nout_channels 2048\nclasses 21\n", "E020");
    expect(d.expected).toBe("1024");
    expect(codes("detector d\nbackbone resnet50\ntap layer3\nout_channels 1024\nclasses 21\n")).toEqual([]);
  });

  it("RoI levels naming the extra max-pool level (the MultiScaleRoIAlign KeyError)", () => {
    const d = only(spec("tap features.6, features.12, features.16\nfpn 256 extra maxpool\nroi align 7 sampling 2 on features.12, pool"), "E040");
    expect(d.message).toContain("extra max-pool level");
  });

  it("RoI levels that do not exist", () => {
    const d = only(spec("tap features.6, features.12\nfpn 256\nroi align 7 sampling 2 on features.13"), "E040");
    expect(d.hint).toContain("features.12");
  });

  it("an unknown tap lists the nearest valid nodes with stride and channels", () => {
    const d = only("detector d\nbackbone vgg16_bn\ntap features.44\nclasses 21\n", "E011");
    expect(d.hint).toMatch(/features\.4[0-3] \(\d+ ch, stride \d+\)/);
    expect(d.primary.span.start).toMatchObject({ line: 3, column: 5 });
  });

  it("an unknown backbone suggests the nearest name", () => {
    expect(only("detector d\nbackbone resnet_50\ntap layer3\nclasses 21\n", "E010").hint).toContain("resnet50");
  });

  it("FPN taps out of stride order, with the reordered list as the fix", () => {
    const d = only(spec("tap features.12, features.6\nfpn 256"), "E015");
    expect(d.hint).toBe("reorder: `tap features.6, features.12`");
  });

  it("duplicate taps, also under two names for one node", () => {
    only(spec("tap features.6, features.6\nfpn 256"), "E012");
    expect(only("detector d\nbackbone resnet50\ntap layer3, layer3.5.relu_2\nfpn 256\nclasses 21\n", "E012").message).toContain(
      "same node",
    );
  });

  it("levels not 2× apart warn", () => {
    const result = checkSource(spec("tap features.6, features.16\nfpn 256"));
    expect(result.diagnostics.map((d) => [d.code, d.severity])).toEqual([["W016", "warning"]]);
    expect(result.detectors).toHaveLength(1);
  });

  it("an input that does not fit the strides", () => {
    expect(codes("detector d\nbackbone vgg16_bn\ntap features.42\nclasses 21\ninput 500\n")).toEqual(["I018"]);
    expect(codes("detector d\nbackbone vgg16_bn\ntap features.42\nclasses 21\ninput 0\n")).toEqual(["E032"]);
    expect(codes(spec("tap features.6, features.12, features.16\nfpn 256 extra maxpool\ninput 800x608"))).toEqual([]);
    expect(only(spec("tap features.6, features.12, features.16\nfpn 256 extra maxpool\ninput 800x624"), "I018").message).toBe(
      "input 800×624 is padded to 800×640 (a multiple of 32)",
    );
  });

  it("a single stride-32 tap warns about small objects", () => {
    only("detector d\nbackbone resnet50\ntap layer4\nclasses 21\n", "W050");
  });

  it("anchor sizes below a level's stride warn", () => {
    only("detector d\nbackbone resnet50\ntap layer3\nanchors sizes (8, 64, 128) ratios 1.0\nclasses 21\n", "W033");
  });

  it("classes < 2 and duplicate names", () => {
    expect(only("detector d\nbackbone resnet50\ntap layer3\nclasses 1\n", "E060").hint).toContain("num_classes");
    only('detector d\nbackbone resnet50\ntap layer3\nclasses "cat", "dog", "cat"\n', "E060");
  });

  it("taps that are not feature maps", () => {
    only("detector d\nbackbone resnet50\ntap flatten\nclasses 21\n", "E013");
  });

  it("several taps of different widths without an FPN", () => {
    only(spec("tap features.6, features.12"), "E014");
  });

  it("unknown settings suggest the right key", () => {
    expect(only(spec("tap features.6\ntrain epochs 2 learning_rate 0.1"), "E070").hint).toBe(undefined);
    expect(only(spec("tap features.6\nrpn nms_tresh 0.6"), "E070").hint).toBe("did you mean `nms_thresh`?");
    only(spec("tap features.6\nbox score_thresh 2"), "E070");
  });

  it("trainable stages beyond what the taps use", () => {
    const d = only("detector d\nbackbone resnet50 trainable 6\ntap layer3\nclasses 21\n", "E005");
    expect(d.expected).toMatch(/^0 to 4 \(/);
    expect(codes("detector d\nbackbone resnet50 trainable 4\ntap layer3\nclasses 21\n")).toEqual([]);
  });

  it("missing and repeated statements", () => {
    expect(codes("detector d\nbackbone resnet50\n")).toEqual(["E002", "E002"]);
    only("detector d\nbackbone resnet50\ntap layer3\ntap layer2\nclasses 21\n", "E003");
  });

  it("reports every problem of a file at once, across detectors", () => {
    const source = [
      "detector a\nbackbone resnet_50\ntap layer3\nclasses 21\n",
      "detector b\nbackbone vgg16_bn\ntap features.99\nclasses 1\n",
      "detector a\nbackbone resnet50\ntap layer3\nclasses 21\n",
    ].join("\n");
    expect(codes(source).sort()).toEqual(["E004", "E010", "E011", "E060"]);
  });

  it("keeps checking after syntax errors", () => {
    const result = checkSource("detector d\nbackbone resnet50\ntap layer3\nfpn extra maxpool\nclasses 1\n");
    expect(result.diagnostics.map((d) => d.code)).toContain("E001");
    expect(result.diagnostics.map((d) => d.code)).toContain("E060");
  });
});

it("statements outside a detector are one syntax error, not a nameless detector's errors", () => {
  expect(codes("backbone resnet50\ntap layer3\n\ndetector d\nbackbone resnet50\ntap layer3\nclasses 21\n")).toEqual(["E001"]);
});
