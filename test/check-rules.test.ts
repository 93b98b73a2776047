/**
 * Each checker rule at the edges a one-character bug would move (found by bench/mutate.ts): the
 * counts and hints a rule computes, the bounds it compares with, and the branches test/check.test.ts
 * does not reach.
 */
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";

const codes = (source: string) => checkSource(source).diagnostics.map((d) => d.code);
const only = (source: string, code: string) => {
  const found = checkSource(source).diagnostics.filter((d) => d.code === code);
  expect(found, `expected one ${code} in ${JSON.stringify(codes(source))}`).toHaveLength(1);
  return found[0]!;
};
const spec = (body: string) => `detector d\nbackbone mobilenet_v3_large\nclasses 21\n${body}\n`;
const twoTaps = "tap features.6, features.12\nfpn 256\n";

describe("checker rules at their edges", () => {
  it("E031 counts sizes × ratios per level, a single ratio included", () => {
    const d = only(spec(`${twoTaps}anchors sizes (32, 64), (128) ratios 1.0`), "E031");
    expect(d.message).toBe("level 2 has 1 anchors per location but level 1 has 2; the shared RPN head needs one count");
    expect(d.primary.message).toBe("1 sizes × 1 ratios = 1");
    expect(only(spec(`${twoTaps}anchors sizes (32, 64), (128) ratios 0.5, 1.0, 2.0`), "E031").message).toBe(
      "level 2 has 3 anchors per location but level 1 has 6; the shared RPN head needs one count",
    );
  });

  it("E030's hint tells a flat list (one size a level) from explicit groups", () => {
    expect(only(spec(`${twoTaps}anchors sizes 32, 64, 128 ratios 1.0`), "E030").hint).toBe(
      "a flat list gives one size per level; write 2 sizes, e.g. `sizes 32, 64`",
    );
    expect(only(spec(`${twoTaps}anchors sizes (32), (64), (128) ratios 1.0`), "E030").hint).toBe(
      "write 2 size groups, one per feature map (a flat list `sizes a, b, …` gives one size per level)",
    );
  });

  it("I018 stays silent on a zero side (E032's error), even when the other side would pad", () => {
    expect(codes("detector d\nbackbone vgg16_bn\ntap features.42\nclasses 21\ninput 0x500\n")).toEqual(["E032"]);
  });

  it("E070 enforces a setting's minimum as well as its maximum", () => {
    const d = only(spec("tap features.6\ntrain lr -1"), "E070");
    expect(d.found).toBe("-1");
    expect(d.expected).toContain("≥ 0");
    expect(codes(spec("tap features.6\ntrain lr 0"))).toEqual([]);
  });

  it("E040 names a RoI level listed twice", () => {
    const d = only(spec(`${twoTaps}roi align 7 sampling 2 on features.6, features.6`), "E040");
    expect(d.message).toBe("RoI level `features.6` is listed twice");
    expect(d.primary.span.start.column).toBe(39); // the second mention, not the first (column 27)
  });

  it("E006's hint gives the backbone's own eps", () => {
    expect(only("detector d\nbackbone resnet50 batch_norm_eps -1\ntap layer3\nclasses 21\n", "E006").hint).toBe(
      "leave it out to keep resnet50's own eps, 1e-5",
    );
  });

  it("E060 refuses a listed background class, under either name", () => {
    for (const name of ["background", "Background", "__background__"])
      expect(only(`detector d\nbackbone resnet50\ntap layer3\nclasses "${name}", "cat"\n`, "E060").message).toBe(
        "the background class is added by detc; do not list it",
      );
    expect(codes('detector d\nbackbone resnet50\ntap layer3\nclasses "backgrounds", "cat"\n')).toEqual([]);
  });
});

describe("checker rules: guards and messages", () => {
  it("E032 wants whole numbers for in_channels and input min/max", () => {
    expect(only(spec("tap features.6, features.12\nfpn 256\nin_channels 40.5, 112"), "E032").message).toBe("in_channels entry must be a whole number > 0");
    expect(only(spec("tap features.6\ninput min 600.5 max 1000"), "E032").message).toBe("input min size must be a whole number > 0");
    expect(only(spec("tap features.6\ninput min 600 max 1000.5"), "E032").message).toBe("input max size must be a whole number > 0");
  });

  it("E005 leaves a negative or fractional trainable count to E032", () => {
    expect(codes("detector d\nbackbone resnet50 trainable -1\ntap layer3\nclasses 21\n")).toEqual(["E032"]);
    expect(codes("detector d\nbackbone resnet50 trainable 1.5\ntap layer3\nclasses 21\n")).toEqual(["E032"]);
  });

  it("W033 warns past three receptive fields, with the bound", () => {
    const d = only("detector d\nbackbone resnet50\ntap layer1\nanchors sizes (64, 4096) ratios 1.0\nclasses 21\n", "W033");
    expect(d.message).toBe("anchor size 4096 is far beyond the receptive field (35 px) of level `layer1`");
    expect(d.expected).toBe("sizes ≤ 105 on this level");
  });

  it("E070 accepts `true`/`false` for a boolean setting and nothing else", () => {
    expect(codes(spec("tap features.6\ntrain frozen_batch_norm false"))).toEqual([]);
    expect(only(spec("tap features.6\ntrain frozen_batch_norm 1"), "E070").expected).toBe("`true` or `false`");
  });

  it("E015 allows equal strides (torchvision's mobilenet FPN taps two stride-32 nodes) and needs an FPN", () => {
    expect(codes(spec("tap features.13, features.16\nfpn 256"))).toEqual([]);
    expect(codes(spec("tap features.12, features.6"))).toEqual(["E014"]);
  });

  it("E021 counts in singular for one tap", () => {
    expect(only(spec("tap features.6\nin_channels 40, 112"), "E021").message).toBe("`in_channels` lists 2 values but there is 1 tap");
  });

  it("E013 names the shape of a tap that is no map, and takes a channels-last map inside a block as one", () => {
    expect(only("detector d\nbackbone resnet18\ntap flatten\nclasses 21\n", "E013").found).toBe("shape [1, 512]");
    expect(codes("detector d\nbackbone convnext_tiny\ntap features.1.0.block.1\nclasses 21\n")).toEqual([]);
  });
});

describe("checker rules: second round of survivors", () => {
  it("E006 writes a backbone's own eps plainly from 1e-3 up", () => {
    expect(only("detector d\nbackbone mobilenet_v3_large batch_norm_eps -1\ntap features.6\nclasses 21\n", "E006").hint).toBe(
      "leave it out to keep mobilenet_v3_large's own eps, 0.001",
    );
  });

  it("E034 finds an infinite square input size", () => {
    expect(codes(spec("tap features.6\ninput 1e999"))).toEqual(["E034"]);
  });

  it("W016 points back at the previous tap", () => {
    const d = only(spec("tap features.6, features.16\nfpn 256"), "W016");
    expect(d.secondary?.map((s) => [s.span.start.line, s.span.start.column, s.message])).toEqual([[4, 5, "stride 8"]]);
  });

  it("anchor sizes may be fractional (E032 wants them positive, not whole)", () => {
    expect(codes(spec("tap features.6\nanchors sizes (32.5, 64) ratios 1.0"))).toEqual([]);
  });

  it("E005 waits until every tap resolves", () => {
    expect(codes("detector d\nbackbone resnet50 trainable 5\ntap layer3, layer9\nfpn 256\nclasses 21\n")).toEqual(["E011"]);
  });
});
