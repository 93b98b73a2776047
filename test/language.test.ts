/** The `.det` front end: text in, syntax tree and syntax problems out. */
import { describe, expect, it } from "vitest";
import { parse, type Position, type Span, type Statement } from "../src/language/index.js";

/** The tree without its spans, to compare shapes; spans are checked on their own below. */
function withoutSpans(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutSpans);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "span").map(([key, v]) => [key, withoutSpans(v)]));
}

/** Parses one statement inside a detector and insists there was nothing to complain about. */
function statement(source: string): unknown {
  const { file, problems } = parse(`detector d\n${source}\n`);
  expect(problems).toEqual([]);
  expect(file.detectors).toHaveLength(1);
  expect(file.detectors[0]!.statements).toHaveLength(1);
  return withoutSpans(file.detectors[0]!.statements[0]);
}

const id = (value: string) => ({ kind: "Identifier", value });
const num = (value: number, raw = String(value)) => ({ kind: "Number", value, raw });
const str = (value: string) => ({ kind: "String", value });
const group = (...sizes: number[]) => ({ kind: "AnchorSizeGroup", sizes: sizes.map((s) => num(s)), grouped: true });
const level = (size: number) => ({ kind: "AnchorSizeGroup", sizes: [num(size)], grouped: false });
const setting = (key: string, ...values: unknown[]) => ({ kind: "Setting", key: id(key), values });

/** Every span in the tree lies inside the text and agrees with its own offsets, counted independently of the lexer. */
function expectConsistentSpans(text: string, tree: unknown): void {
  const lineStarts = [0, ...[...text.matchAll(/\r\n|\r|\n/g)].map((m) => m.index + m[0].length)];
  const positionAt = (offset: number): Position => {
    let line = lineStarts.length - 1;
    while (lineStarts[line]! > offset) line--;
    return { offset, line: line + 1, column: offset - lineStarts[line]! + 1 };
  };
  const wrong: unknown[] = [];
  const visit = (node: unknown): void => {
    if (node === null || typeof node !== "object") return;
    const { span } = node as { span?: Span };
    const consistent = (position: Position) =>
      position.offset >= 0 && position.offset <= text.length && JSON.stringify(position) === JSON.stringify(positionAt(position.offset));
    if (span && !(consistent(span.start) && consistent(span.end) && span.start.offset <= span.end.offset)) wrong.push(node);
    Object.values(node).forEach(visit);
  };
  visit(tree);
  expect(wrong).toEqual([]);
}

const textOf = (text: string, span: Span) => text.slice(span.start.offset, span.end.offset);

describe("statements", () => {
  it.each([
    ["backbone resnet50", { kind: "Backbone", name: id("resnet50") }],
    ['backbone mobilenet_v3_large weights "weights/mbv3.pth"', { kind: "Backbone", name: id("mobilenet_v3_large"), weights: str("weights/mbv3.pth") }],
    ["backbone resnet50 trainable 3", { kind: "Backbone", name: id("resnet50"), trainable: num(3) }],
    ['backbone vgg16_bn weights "w.pth" trainable 0', { kind: "Backbone", name: id("vgg16_bn"), weights: str("w.pth"), trainable: num(0) }],
  ])("%s", (source, expected) => expect(statement(source)).toEqual(expected));

  it("tap takes torchvision's node names, dots, digits, underscores and dashes included", () => {
    expect(
      statement("tap features.42, layer3.5.relu_2,trunk_output.block1.block1-0.f.a, features.1.0.features_1_0_layer_scale"),
    ).toEqual({
      kind: "Tap",
      nodes: [id("features.42"), id("layer3.5.relu_2"), id("trunk_output.block1.block1-0.f.a"), id("features.1.0.features_1_0_layer_scale")],
    });
  });

  it.each([
    ["fpn 256", { kind: "Fpn", channels: num(256) }],
    ["fpn 256 extra maxpool", { kind: "Fpn", channels: num(256), extra: id("maxpool") }],
  ])("%s", (source, expected) => expect(statement(source)).toEqual(expected));

  it.each([
    ["anchors sizes 64, 128, 256, 512 ratios 0.5, 1.0, 2.0", [level(64), level(128), level(256), level(512)]],
    ["anchors sizes (32, 64, 128, 256, 512) ratios 0.5, 1.0, 2.0", [group(32, 64, 128, 256, 512)]],
    ["anchors sizes (32, 40), (64, 80), (128) ratios 0.5, 1.0, 2.0", [group(32, 40), group(64, 80), group(128)]],
    ["anchors sizes (32) (64) (128, 160) ratios 0.5, 1.0, 2.0", [group(32), group(64), group(128, 160)]],
  ])("%s", (source, sizes) => {
    expect(statement(source)).toEqual({ kind: "Anchors", sizes, ratios: [num(0.5), num(1, "1.0"), num(2, "2.0")] });
  });

  it("does not count anchors: a wrong number of groups is the checker's to report", () => {
    expect(statement("anchors sizes (32, 64) ratios 1")).toEqual({ kind: "Anchors", sizes: [group(32, 64)], ratios: [num(1)] });
  });

  it.each([
    ["roi align 7 sampling 2", { kind: "Roi", outputSize: num(7), samplingRatio: num(2) }],
    [
      "roi align 7 sampling 2 on features.6, features.12, pool",
      { kind: "Roi", outputSize: num(7), samplingRatio: num(2), levels: [id("features.6"), id("features.12"), id("pool")] },
    ],
  ])("%s", (source, expected) => expect(statement(source)).toEqual(expected));

  it.each([
    ["classes 21", { kind: "Classes", count: num(21) }],
    ['classes "person", "bicycle", "car"', { kind: "Classes", names: [str("person"), str("bicycle"), str("car")] }],
    ["out_channels 512", { kind: "OutChannels", value: num(512) }],
    ["in_channels 40, 112, 960", { kind: "InChannels", values: [num(40), num(112), num(960)] }],
  ])("%s", (source, expected) => expect(statement(source)).toEqual(expected));

  it.each([
    ["input 800", { kind: "Input", form: "square", size: num(800) }],
    ["input 512x384", { kind: "Input", form: "exact", height: num(512), width: num(384) }],
    ["input min 800 max 1333", { kind: "Input", form: "range", min: num(800), max: num(1333) }],
  ])("%s", (source, expected) => expect(statement(source)).toEqual(expected));

  it.each([
    ["dataset synthetic", { kind: "Dataset", format: id("synthetic"), splits: [] }],
    [
      'dataset coco train "annotations/instances_train2017.json" images "train2017"',
      {
        kind: "Dataset",
        format: id("coco"),
        splits: [{ kind: "DatasetSplit", split: id("train"), source: str("annotations/instances_train2017.json"), images: str("train2017") }],
      },
    ],
    [
      'dataset coco train "train.json" images "train" val "val.json" images "val"',
      {
        kind: "Dataset",
        format: id("coco"),
        splits: [
          { kind: "DatasetSplit", split: id("train"), source: str("train.json"), images: str("train") },
          { kind: "DatasetSplit", split: id("val"), source: str("val.json"), images: str("val") },
        ],
      },
    ],
    ['dataset voc "VOCdevkit/VOC2007"', { kind: "Dataset", format: id("voc"), root: str("VOCdevkit/VOC2007"), splits: [] }],
    [
      'dataset voc "VOCdevkit/VOC2007" train "trainval" val "test"',
      {
        kind: "Dataset",
        format: id("voc"),
        root: str("VOCdevkit/VOC2007"),
        splits: [
          { kind: "DatasetSplit", split: id("train"), source: str("trainval") },
          { kind: "DatasetSplit", split: id("val"), source: str("test") },
        ],
      },
    ],
    [
      'dataset voc "VOC2012" val "val"',
      { kind: "Dataset", format: id("voc"), root: str("VOC2012"), splits: [{ kind: "DatasetSplit", split: id("val"), source: str("val") }] },
    ],
  ])("%s", (source, expected) => expect(statement(source)).toEqual(expected));

  it.each([
    [
      "train epochs 12 batch 4 lr 0.02 steps 8, 11 flip 0.5",
      [setting("epochs", num(12)), setting("batch", num(4)), setting("lr", num(0.02, "0.02")), setting("steps", num(8), num(11)), setting("flip", num(0.5))],
    ],
    ["rpn nms 0.7 pre_nms_top_n_test 1000", [setting("nms", num(0.7)), setting("pre_nms_top_n_test", num(1000))]],
    ["box score 0.05 detections 100", [setting("score", num(0.05)), setting("detections", num(100))]],
    ['train optimizer sgd checkpoint "runs/x" weight_decay 1e-4', [setting("optimizer", id("sgd")), setting("checkpoint", str("runs/x")), setting("weight_decay", num(1e-4, "1e-4"))]],
  ])("%s", (source, settings) => {
    expect(statement(source)).toEqual({ kind: "Settings", section: id(source.split(" ")[0]!), settings });
  });

  it("keeps a dataset's optional VOC split apart from a train statement that follows it", () => {
    const { file, problems } = parse('detector d\ndataset voc "VOC2007"\ntrain epochs 12');
    expect(problems).toEqual([]);
    expect(withoutSpans(file.detectors[0]!.statements)).toEqual([
      { kind: "Dataset", format: id("voc"), root: str("VOC2007"), splits: [] },
      { kind: "Settings", section: id("train"), settings: [setting("epochs", num(12))] },
    ]);
  });
});

describe("lexing", () => {
  it("reads numbers as written: integers, decimals, exponents and signs", () => {
    expect(statement("in_channels 7, 0.5, 1e-4, 2.5E+3, -1")).toEqual({
      kind: "InChannels",
      values: [num(7), num(0.5), num(1e-4, "1e-4"), num(2500, "2.5E+3"), num(-1)],
    });
  });

  it("decodes string escapes", () => {
    expect(statement(String.raw`backbone b weights "a \"quoted\" \\ path\/x \u00e9\t"`)).toEqual({
      kind: "Backbone",
      name: id("b"),
      weights: str('a "quoted" \\ path/x é\t'),
    });
  });

  it("reads a word that starts with a keyword as a name", () => {
    expect(statement("tap trainable_x, inputs, tap.0, detectors, maxpooling")).toEqual({
      kind: "Tap",
      nodes: [id("trainable_x"), id("inputs"), id("tap.0"), id("detectors"), id("maxpooling")],
    });
  });

  it("lets clause keywords serve as names where a name is expected", () => {
    const { file, problems } = parse("detector coco\nbackbone resnet50\ntrain max 3 sizes val\nroi align 7 sampling 2 on extra");
    expect(problems).toEqual([]);
    const [detector] = file.detectors;
    expect(detector!.name?.value).toBe("coco");
    expect(withoutSpans(detector!.statements.slice(1))).toEqual([
      { kind: "Settings", section: id("train"), settings: [setting("max", num(3)), setting("sizes", id("val"))] },
      { kind: "Roi", outputSize: num(7), samplingRatio: num(2), levels: [id("extra")] },
    ]);
  });

  it("keeps comments, in order, with their spans", () => {
    const text = "# first\ndetector d # after a name\n  #indented\nclasses 3 #";
    const { file, problems } = parse(text);
    expect(problems).toEqual([]);
    expect(file.comments.map((c) => c.text)).toEqual([" first", " after a name", "indented", ""]);
    expect(file.comments.map((c) => textOf(text, c.span))).toEqual(["# first", "# after a name", "#indented", "#"]);
    expect(file.comments[2]!.span.start).toEqual({ offset: 36, line: 3, column: 3 });
  });
});

describe("files", () => {
  it("accepts statements in any order, several detectors, and no meaningful newlines", () => {
    const { file, problems } = parse("detector a classes 3 tap layer3 backbone resnet50 detector b\nbackbone\nvgg16_bn\ntap\nfeatures.42,\nfeatures.43");
    expect(problems).toEqual([]);
    expect(file.detectors.map((d) => [d.name?.value, d.statements.map((s) => s.kind)])).toEqual([
      ["a", ["Classes", "Tap", "Backbone"]],
      ["b", ["Backbone", "Tap"]],
    ]);
  });

  it("parses an empty file and a file of comments", () => {
    expect(parse("")).toEqual({
      file: { kind: "File", detectors: [], comments: [], span: { start: { offset: 0, line: 1, column: 1 }, end: { offset: 0, line: 1, column: 1 } } },
      problems: [],
    });
    expect(parse("# nothing yet\n").file.comments).toHaveLength(1);
  });

  it("gives every node an exact span", () => {
    const text = [
      "detector mbv3   # a comment",
      'backbone mobilenet_v3_large weights "w.pth"',
      "fpn 256 extra maxpool",
      "input 512x384",
      "anchors sizes (32, 64)",
      "  (128) ratios 0.5,",
      "  1.0",
      'dataset coco train "t.json" images "t" val "v.json" images "v"',
      "rpn nms 0.7",
    ].join("\n");
    const { file, problems } = parse(text);
    expect(problems).toEqual([]);
    expectConsistentSpans(text, file);
    const [detector] = file.detectors;
    const [backbone, fpn, input, anchors, dataset, rpn] = detector!.statements as Statement[];
    expect(file.span).toEqual({ start: { offset: 0, line: 1, column: 1 }, end: { offset: text.length, line: 9, column: 12 } });
    expect(detector!.span).toEqual({ start: { offset: 0, line: 1, column: 1 }, end: { offset: text.length, line: 9, column: 12 } });
    expect(detector!.name!.span).toEqual({ start: { offset: 9, line: 1, column: 10 }, end: { offset: 13, line: 1, column: 14 } });
    expect(backbone!.span.start).toEqual({ offset: 28, line: 2, column: 1 });
    expect(backbone!.kind === "Backbone" && textOf(text, backbone.weights!.span)).toBe('"w.pth"');
    expect(fpn!.kind === "Fpn" && fpn.extra!.span).toEqual({ start: { offset: 80, line: 3, column: 9 }, end: { offset: 93, line: 3, column: 22 } });
    expect(fpn!.kind === "Fpn" && textOf(text, fpn.extra!.span)).toBe("extra maxpool");
    if (input?.kind !== "Input" || input.form !== "exact") throw new Error("expected an exact input size");
    expect([textOf(text, input.height.span), textOf(text, input.width.span)]).toEqual(["512", "384"]);
    expect(input.width.span.start).toEqual({ offset: 104, line: 4, column: 11 });
    expect(textOf(text, anchors!.span)).toBe("anchors sizes (32, 64)\n  (128) ratios 0.5,\n  1.0");
    expect(anchors!.kind === "Anchors" && anchors.sizes.map((g) => textOf(text, g.span))).toEqual(["(32, 64)", "(128)"]);
    expect(anchors!.span.end).toEqual({ offset: 156, line: 7, column: 6 });
    expect(dataset!.kind === "Dataset" && dataset.splits.map((s) => textOf(text, s.span))).toEqual([
      'train "t.json" images "t"',
      'val "v.json" images "v"',
    ]);
    expect(rpn!.kind === "Settings" && textOf(text, rpn.settings[0]!.span)).toBe("nms 0.7");
  });

  it("counts a lone carriage return or CRLF as one line break", () => {
    const text = "detector a\r\nclasses 3\rfpn 256";
    const { file, problems } = parse(text);
    expect(problems).toEqual([]);
    expectConsistentSpans(text, file);
    expect(file.detectors[0]!.statements[1]!.span.start).toEqual({ offset: 22, line: 3, column: 1 });
  });
});

/** The seed tutorial's five detectors (test/fixtures/make_goldens.py), written in the language. */
const SEEDS: Readonly<Record<string, { source: string; taps: string[]; sizes: number[][]; fpn?: number }>> = {
  vgg16_bn: {
    source: `# no FPN: one feature map, stride 16
detector vgg_c4
backbone vgg16_bn
tap features.42                      # -> 512 channels, stride 16 (inferred, never written)
anchors sizes (32, 64, 128, 256, 512) ratios 0.5, 1.0, 2.0
roi align 7 sampling 2
classes 21
`,
    taps: ["features.42"],
    sizes: [[32, 64, 128, 256, 512]],
  },
  resnet50: {
    source: `detector resnet50_c4
backbone resnet50
tap layer3          # resolves to layer3.5.relu_2
anchors sizes (32, 64, 128, 256, 512) ratios 0.5, 1.0, 2.0
roi align 7 sampling 2
classes 21
`,
    taps: ["layer3"],
    sizes: [[32, 64, 128, 256, 512]],
  },
  efficientnet_b0: {
    source: `detector efficientnet_b0_c4
backbone efficientnet_b0
tap features.5
anchors sizes (32, 64, 128, 256, 512) ratios 0.5, 1.0, 2.0
roi align 7 sampling 2
classes 21
`,
    taps: ["features.5"],
    sizes: [[32, 64, 128, 256, 512]],
  },
  mobilenet_v3_large_fpn: {
    source: `# FPN over three taps, one anchor size per level (4 levels: 3 taps + max-pool level)
detector mbv3_fpn
backbone mobilenet_v3_large weights "weights/mobilenet_v3_large.pth" trainable 3
tap features.6, features.12, features.16   # strides 8/16/32, channels 40/112/960
fpn 256 extra maxpool
anchors sizes 64, 128, 256, 512 ratios 0.5, 1.0, 2.0
roi align 7 sampling 2                      # levels default to the taps, never the pool level
classes 21
`,
    taps: ["features.6", "features.12", "features.16"],
    sizes: [[64], [128], [256], [512]],
    fpn: 256,
  },
  efficientnet_b0_fpn: {
    source: `detector efficientnet_b0_fpn
backbone efficientnet_b0
tap features.3, features.4, features.8
fpn 256 extra maxpool
anchors sizes 64, 128, 256, 512 ratios 0.5, 1.0, 2.0
roi align 7 sampling 2
classes 21
input min 800 max 1333
dataset synthetic
train epochs 12 batch 4 lr 0.02 steps 8, 11 flip 0.5
`,
    taps: ["features.3", "features.4", "features.8"],
    sizes: [[64], [128], [256], [512]],
    fpn: 256,
  },
};

describe("the seed tutorial's detectors", () => {
  it.each(Object.entries(SEEDS))("%s parses to torchvision's configuration", (_, seed) => {
    const { file, problems } = parse(seed.source);
    expect(problems).toEqual([]);
    expectConsistentSpans(seed.source, file);
    const statements = file.detectors[0]!.statements;
    const find = <K extends Statement["kind"]>(kind: K) => statements.find((s): s is Extract<Statement, { kind: K }> => s.kind === kind);
    expect(find("Tap")!.nodes.map((n) => n.value)).toEqual(seed.taps);
    expect(find("Anchors")!.sizes.map((g) => g.sizes.map((s) => s.value))).toEqual(seed.sizes);
    expect(find("Anchors")!.ratios.map((r) => r.value)).toEqual([0.5, 1, 2]);
    expect(find("Fpn")?.channels?.value).toBe(seed.fpn);
    expect(find("Fpn")?.extra !== undefined).toBe(seed.fpn !== undefined);
    expect(find("Roi")).toMatchObject({ outputSize: { value: 7 }, samplingRatio: { value: 2 } });
    expect(find("Classes")!.count!.value).toBe(21);
  });

  it("all five parse as one file, comments kept", () => {
    const text = Object.values(SEEDS).map((seed) => seed.source).join("\n");
    const { file, problems } = parse(text);
    expect(problems).toEqual([]);
    expect(file.detectors).toHaveLength(5);
    expect(file.comments.map((c) => c.text)).toContain(" no FPN: one feature map, stride 16");
  });
});

/** `line:column` of each problem with its message, for compact expectations. */
const problemsOf = (text: string) => parse(text).problems.map((p) => `${p.span.start.line}:${p.span.start.column} ${p.message}`);

describe("syntax errors", () => {
  it("says what was expected in the user's words", () => {
    const { problems } = parse("detector d\nfpn extra maxpool");
    expect(problems).toEqual([
      {
        message: "expected a number after 'fpn', found 'extra'",
        expected: "a number",
        span: { start: { offset: 15, line: 2, column: 5 }, end: { offset: 20, line: 2, column: 10 } },
      },
    ]);
  });

  it("reports every error in a file, each where it is, and keeps what it could read", () => {
    const text = [
      "detector a",
      "backbone resnet50",
      "tap layer2 layer3", // a missing comma
      "fpn extra maxpool", // a missing number
      "anchors sizes 32, ratios 0.5",
      "roi align 7 2",
      "input foo",
      "classes",
      "detector", // a missing name
      "backbone @vgg16_bn",
      "classes 21",
    ].join("\n");
    expect(problemsOf(text)).toEqual([
      "3:12 expected a statement such as 'backbone', 'tap' or 'fpn', or a new 'detector' after 'layer2', found 'layer3'",
      "4:5 expected a number after 'fpn', found 'extra'",
      "5:19 expected a number after ',', found 'ratios'",
      "6:13 expected 'sampling' after '7', found '2'",
      "7:7 expected a number, a size such as 512x384 or 'min' after 'input', found 'foo'",
      "9:1 expected a number or a string in double quotes after 'classes', found 'detector'",
      "10:1 expected a detector name after 'detector', found 'backbone'",
      "10:10 unexpected character '@'",
    ]);
    const { file } = parse(text);
    expect(file.detectors.map((d) => [d.name?.value, d.statements.map((s) => s.kind)])).toEqual([
      ["a", ["Backbone", "Tap", "Fpn", "Anchors", "Roi", "Classes"]],
      [undefined, ["Backbone", "Classes"]],
    ]);
    const [, tap, fpn, anchors, roi] = file.detectors[0]!.statements;
    expect(withoutSpans(tap)).toEqual({ kind: "Tap", nodes: [id("layer2")] });
    expect(withoutSpans(fpn)).toEqual({ kind: "Fpn", extra: id("maxpool") });
    expect(withoutSpans(anchors)).toEqual({ kind: "Anchors", sizes: [level(32)], ratios: [num(0.5)] });
    // The missing 'sampling' is taken as read, so the number after it still counts.
    expect(withoutSpans(roi)).toEqual({ kind: "Roi", outputSize: num(7), samplingRatio: num(2) });
    expectConsistentSpans(text, file);
  });

  it("points just past the last token when the file ends too early", () => {
    const { problems } = parse('detector d\nclasses "a", "b",\n\n');
    expect(problems).toEqual([
      {
        message: "expected a string in double quotes after ',', found the end of the file",
        expected: "a string in double quotes",
        span: { start: { offset: 28, line: 2, column: 18 }, end: { offset: 28, line: 2, column: 18 } },
      },
    ]);
  });

  it("names the setting list's missing parts", () => {
    expect(problemsOf("detector d\nrpn\nclasses 3\ntrain epochs fpn 256")).toEqual([
      "3:1 expected a setting name after 'rpn', found 'classes'",
      "4:14 expected a number, a string in double quotes or a name after 'epochs', found 'fpn'",
    ]);
  });

  it("explains a statement outside any detector, once, and still reads it", () => {
    const text = "backbone resnet50\ntap layer3\ndetector b\nclasses 3";
    const { file, problems } = parse(text);
    expect(problems).toEqual([
      {
        message: "'backbone' is outside any detector: add a 'detector NAME' line above it",
        expected: "'detector'",
        span: { start: { offset: 0, line: 1, column: 1 }, end: { offset: 17, line: 1, column: 18 } },
      },
    ]);
    expect(file.detectors.map((d) => [d.name?.value, d.statements.map((s) => s.kind)])).toEqual([
      [undefined, ["Backbone", "Tap"]],
      ["b", ["Classes"]],
    ]);
  });

  it("reports a broken string once, on the string, and carries on", () => {
    const text = 'detector d\nbackbone b weights "C:\\w\\x.pth"\ndataset voc "VOC2007\nclasses 3';
    expect(problemsOf(text)).toEqual([
      "2:23 unknown escape '\\w' in a string: write '\\\\' for a backslash, or '/' in paths",
      "2:25 unknown escape '\\x' in a string: write '\\\\' for a backslash, or '/' in paths",
      "3:13 this string has no closing '\"' on its line",
    ]);
    const { file } = parse(text);
    expect(withoutSpans(file.detectors[0]!.statements)).toEqual([
      { kind: "Backbone", name: id("b"), weights: str("C:\\w\\x.pth") },
      { kind: "Dataset", format: id("voc"), root: str("VOC2007"), splits: [] },
      { kind: "Classes", count: num(3) },
    ]);
  });

  it("suggests double quotes for single-quoted text", () => {
    expect(problemsOf("detector d\nclasses 'cat'")[0]).toBe(`2:9 unexpected character "'": strings are written in double quotes`);
  });

  it("leaves out an input size it could not read whole, keeping the error", () => {
    const { file, problems } = parse("detector d\ninput min 800\nclasses 3");
    expect(problems.map((p) => p.message)).toEqual(["expected 'max' after '800', found 'classes'"]);
    expect(file.detectors[0]!.statements.map((s) => s.kind)).toEqual(["Classes"]);
  });
});

describe("partial input", () => {
  const complete =
    SEEDS["mobilenet_v3_large_fpn"]!.source +
    'detector everything\ninput 512x384 out_channels 256 in_channels 40, 112\nclasses "a", "b"\nroi align 7 sampling 2 on x, y\n' +
    'dataset coco train "t.json" images "t" val "v.json" images "v"\nrpn nms 0.7 box score 0.05 train steps 8, 11\n' +
    'anchors sizes (32, 64) (128) ratios 1 input min 1 max 2 dataset voc "V" train "a" val "b"\n';

  it("never throws on any prefix, and every span it reports is consistent", () => {
    for (let end = 0; end <= complete.length; end++) {
      const text = complete.slice(0, end);
      const { file, problems } = parse(text);
      expectConsistentSpans(text, [file, problems]);
    }
  });

  it("never throws with any one word removed", () => {
    const words = complete.split(/(\s+)/);
    for (let index = 0; index < words.length; index += 2) {
      const text = [...words.slice(0, index), ...words.slice(index + 1)].join("");
      const { file, problems } = parse(text);
      expectConsistentSpans(text, [file, problems]);
    }
  });
});
