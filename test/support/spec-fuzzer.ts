/**
 * Specs made by mutating real ones, and the promises `detc check --json` keeps for any of them:
 * the output validates against the published schemas, spans lie inside the text with lines and
 * columns that agree with their offsets, at most MAX_DIAGNOSTICS are listed and the counts add
 * up, code frames render, and a file without syntax errors formats to one that parses again.
 * Seeded, so a failure names the case that reproduces it. Used by test/fuzz.test.ts (a few
 * thousand cases) and bench/fuzz.ts (as many as time allows).
 */
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import pc from "picocolors";
import { checkSource, MAX_DIAGNOSTICS } from "../../src/check/index.js";
import { checkJson } from "../../src/cli/commands/check.js";
import { renderDiagnostic } from "../../src/cli/render-diagnostics.js";
import { parse } from "../../src/language/index.js";
import { print } from "../../src/language/printer.js";

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

const SEEDS = [
  ...["vgg16_bn", "resnet50", "efficientnet_b0", "mobilenet_v3_large_fpn", "efficientnet_b0_fpn", "quickstart"].map((n) => read(`examples/${n}.det`)),
  `detector d
backbone resnet18 trainable 3
tap layer2, layer3, layer4
fpn 128 extra maxpool
in_channels 128, 256, 512
out_channels 128
anchors sizes (32), (64), (128), (256) ratios 0.5, 1.0, 2.0
roi align 7 sampling 2 on layer2, layer3
classes "cat", "dog"
input min 512 max 800
dataset coco train "ann/train.json" images "img/train" val "ann/val.json" images "img/val"
train epochs 3 lr_steps 2 flip 0.5
rpn nms_thresh 0.6
box representation_size 256

detector e
backbone vgg16_bn
tap features.42
input 512x384
dataset voc "VOCdevkit/VOC2007" train "trainval" val "test"
classes 21
`,
];

/** Replacements that reach the corners: limits of numbers, odd characters, long text. */
const WORDS = [
  "detector", "backbone", "tap", "fpn", "anchors", "sizes", "ratios", "roi", "align", "sampling", "on", "classes",
  "out_channels", "in_channels", "input", "min", "max", "dataset", "synthetic", "coco", "voc", "train", "val", "images",
  "rpn", "box", "extra", "maxpool", "weights", "trainable", "layer1", "layer2", "layer3", "layer4", "features.6",
  "features.99", "pool", "resnet50", "resnet5", "mobilenet_v3_large", "convnext_tiny", "epochs", "lr", "nms_thresh",
  "representation_size", "true", "false", "0", "1", "-1", "2.5", "21", "256", "1e309", "-1e309", "1e200", "1e-400",
  "9007199254740993", "4e15", "0.0", "512x384", "0x0", "99999999999999999999x1", '"a"', '""', '"unterminated', '"\\q"',
  '"\\u00e9"', "(", ")", ",", "((((", "))))", ",,", "#", "# comment", "'single'", "@", "\u2028", "\r", "\t", "\u0000",
  "é", "😀", "x".repeat(300), "layer3".repeat(40),
];

/** A seed spec with one to four mutations of its words, lines or characters. */
export function fuzzedSpec(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let parts = pick(SEEDS).split(/(\s+)/);
  const mutations = 1 + Math.floor(random() * 4);
  for (let m = 0; m < mutations; m++) {
    const at = Math.floor(random() * parts.length);
    switch (Math.floor(random() * 8)) {
      case 0: parts.splice(at, 1); break;
      case 1: parts.splice(at, 0, " ", pick(WORDS), " "); break;
      case 2: parts[at] = pick(WORDS); break;
      case 3: parts.splice(at, 0, parts[Math.floor(random() * parts.length)] ?? ""); break;
      case 4: parts = parts.slice(0, at); break;
      case 5: parts.splice(at, 0, "(".repeat(1 + Math.floor(random() * 3000))); break;
      case 6: parts.splice(at, 0, Array.from({ length: 1 + Math.floor(random() * 200) }, () => String.fromCharCode(Math.floor(random() * 128))).join("")); break;
      case 7: parts.splice(at, 0, ` ${pick(["tap", "classes", "anchors sizes"])} ${Array.from({ length: 50 + Math.floor(random() * 2000) }, () => pick(WORDS.slice(28, 70))).join(", ")}\n`); break;
    }
  }
  return parts.join("");
}

const schema = (name: string) => JSON.parse(read(`specs/${name}`));
const ajv = new Ajv({ allErrors: true, strict: true });
ajv.addSchema(schema("detector.schema.json"), "detector.schema.json");
const validateOutput = ajv.compile(schema("check-output.schema.json"));
const noColor = pc.createColors(false);

/** What `source` breaks of the promises above; empty when it keeps them all. */
export function brokenPromises(source: string): string[] {
  const broken: string[] = [];
  const result = checkSource(source);
  // Through a JSON round trip, as a tool reads it: Infinity and NaN would come back as null.
  const output = JSON.parse(JSON.stringify(checkJson([{ path: "fuzz.det", source, result }])));
  if (!validateOutput(output)) broken.push(`schema: ${ajv.errorsText(validateOutput.errors)}`);
  if (result.diagnostics.length > MAX_DIAGNOSTICS) broken.push(`${result.diagnostics.length} diagnostics listed`);
  const { error, warning, info } = result.counts;
  if (error + warning + info !== result.diagnostics.length + result.omitted) broken.push("counts do not add up");
  for (const d of result.diagnostics) {
    for (const { span } of [d.primary, ...(d.secondary ?? [])]) {
      const { start, end } = span;
      if (start.offset < 0 || end.offset > source.length || end.offset < start.offset) broken.push(`${d.code}: span ${start.offset}..${end.offset} outside the text`);
      if (start.line < 1 || start.column < 1 || end.line < start.line) broken.push(`${d.code}: position ${start.line}:${start.column}..${end.line}:${end.column}`);
    }
    const rendered = renderDiagnostic(d, "fuzz.det", source, noColor);
    if (rendered.length > 20_000) broken.push(`${d.code}: a ${rendered.length}-character code frame`);
  }
  const { file, problems } = parse(source);
  if (problems.length === 0) {
    const again = parse(print(file)).problems;
    if (again.length > 0) broken.push(`formatted text does not parse: ${again[0]!.message}`);
  }
  return broken;
}
