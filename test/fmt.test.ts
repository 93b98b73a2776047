/**
 * `detc fmt` and the printer: canonical, idempotent, comments kept, meaning unchanged; and the
 * other ways `detc check` talks to tools (GitHub annotations, colours).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { parse } from "../src/language/index.js";
import { format } from "../src/language/printer.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".det"));

function detc(args: string[], env: Record<string, string | undefined> = { NO_COLOR: "1" }) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function specFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "detc-fmt-")), "spec.det");
  writeFileSync(path, text);
  return path;
}

/** A file's meaning: its detectors' statements without positions, in any order, and its comments. */
function meaning(source: string) {
  const { file, problems } = parse(source);
  expect(problems).toEqual([]);
  const withoutSpans = (value: unknown): unknown =>
    JSON.parse(JSON.stringify(value, (key, v: unknown) => (key === "span" ? undefined : v)));
  return {
    detectors: file.detectors.map((d) => ({
      name: d.name?.value,
      statements: d.statements.map((s) => JSON.stringify(withoutSpans(s))).sort(),
    })),
    comments: file.comments.map((c) => c.text.trimEnd()).sort(),
  };
}

function expectCanonical(source: string): string {
  expect(parse(source).problems, source).toEqual([]);
  const formatted = format(source);
  expect(format(formatted!), "fmt(fmt(x)) == fmt(x)").toBe(formatted);
  expect(meaning(formatted!)).toEqual(meaning(source));
  return formatted!;
}

describe("the printer", () => {
  it.each(examples)("examples/%s is canonical already, and formatting it is idempotent", (name) => {
    const source = readFileSync(join(root, "examples", name), "utf8");
    expect(expectCanonical(source)).toBe(source);
  });

  it("orders statements, one per line, and keeps every comment with its statement", () => {
    const source = [
      "# A header, kept apart by its blank line.",
      "",
      "# about d",
      "detector d   # trailing the name",
      "classes 21 tap layer2,   # inside the tap: moves above it",
      "   layer3",
      "train epochs 2   rpn nms_thresh 0.70",
      "# leads the backbone",
      "backbone resnet50 weights \"w.pth\"   trainable 3",
      "anchors sizes (32,64) , (128,256) ratios 0.5,1.0,2.0 fpn 256 extra maxpool # trails fpn",
      "input 512x384 dataset voc \"VOC2007\" val \"test\"",
      "detector e backbone vgg16_bn tap features.42 classes \"cat\",\"dog\"",
      "# the end",
    ].join("\n");
    expect(expectCanonical(source)).toBe(
      [
        "# A header, kept apart by its blank line.",
        "",
        "# about d",
        "detector d             # trailing the name",
        "# leads the backbone",
        "backbone resnet50 weights \"w.pth\" trainable 3",
        "# inside the tap: moves above it",
        "tap layer2, layer3",
        "fpn 256 extra maxpool  # trails fpn",
        "anchors sizes (32, 64), (128, 256) ratios 0.5, 1.0, 2.0",
        "classes 21",
        "input 512x384",
        "dataset voc \"VOC2007\" val \"test\"",
        "rpn nms_thresh 0.70",
        "train epochs 2",
        "",
        "detector e",
        "backbone vgg16_bn",
        "tap features.42",
        "classes \"cat\", \"dog\"",
        "# the end",
        "",
      ].join("\n"),
    );
  });

  it("prints numbers and strings as the lexer reads them back", () => {
    const formatted = expectCanonical('detector d backbone b weights "C:\\\\w \\"x\\"" train lr 1e-4 momentum 0.90\n');
    expect(formatted).toBe('detector d\nbackbone b weights "C:\\\\w \\"x\\""\ntrain lr 1e-4 momentum 0.90\n');
  });

  it("refuses a file with syntax errors", () => {
    expect(format("detector d\nbackbone\ntap ,\n")).toBeUndefined();
  });

  it("is idempotent and keeps the meaning of generated specs", () => {
    const random = seeded(7);
    for (let i = 0; i < 300; i++) {
      const source = generatedSpec(random);
      const formatted = expectCanonical(source);
      // Canonical order holds in every block.
      for (const detector of parse(formatted).file.detectors) {
        const ranks = detector.statements.map((s) => ORDER.indexOf(keywordOf(formatted, s.span.start.offset)));
        expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
      }
    }
  });
});

const ORDER = ["backbone", "tap", "fpn", "in_channels", "out_channels", "anchors", "roi", "classes", "input", "dataset", "rpn", "box", "train"];
const keywordOf = (text: string, offset: number) => /^\w+/.exec(text.slice(offset))![0];

/** mulberry32: a small seeded generator, so a failure is reproducible. */
function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Statements of every form, in random order, with random spacing, line breaks and comments between tokens. */
function generatedSpec(random: () => number): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const maybe = (p = 0.5) => random() < p;
  const some = <T>(make: () => T, max = 3) => Array.from({ length: 1 + Math.floor(random() * max) }, make);
  const number = () => pick(["1", "7", "256", "0.5", "1.0", "2.00", "1e-4", "-3", "32"]);
  const name = () => pick(["layer2", "layer3.5.relu_2", "features.6", "block1-0", "pool", "coco", "max"]);
  const string = () => pick(['"a"', '"dir/b c"', '"q\\"uote"', '""']);
  const commaList = (make: () => string, max = 3) => some(make, max).flatMap((item, i) => (i === 0 ? [item] : [",", item]));
  const statements: (() => string[])[] = [
    () => ["backbone", name(), ...(maybe() ? ["weights", string()] : []), ...(maybe() ? ["trainable", number()] : [])],
    () => ["tap", ...commaList(name)],
    () => ["fpn", number(), ...(maybe() ? ["extra", "maxpool"] : [])],
    () => ["in_channels", ...commaList(number)],
    () => ["out_channels", number()],
    () => [
      "anchors", "sizes",
      ...(maybe() ? commaList(number) : some(() => ["(", ...commaList(number), ")"]).flatMap((group, i) => (i > 0 && maybe() ? [",", ...group] : group))),
      "ratios", ...commaList(number),
    ],
    () => ["roi", "align", number(), "sampling", number(), ...(maybe() ? ["on", ...commaList(name)] : [])],
    () => (maybe() ? ["classes", number()] : ["classes", ...commaList(string)]),
    () => pick([["input", number()], ["input", pick(["512x384", "800x800"])], ["input", "min", number(), "max", number()]]),
    () =>
      pick([
        ["dataset", "synthetic"],
        ["dataset", "coco", "train", string(), "images", string(), ...(maybe() ? ["val", string(), "images", string()] : [])],
        ["dataset", "voc", string(), ...(maybe() ? ["train", string()] : []), ...(maybe() ? ["val", string()] : [])],
      ]),
    () => [pick(["rpn", "box", "train"]), ...some(() => [name(), ...pick([commaList(number), [string()], [pick(["true", "sgd"])]])]).flat()],
  ];
  let comment = 0;
  const separator = () => {
    const roll = random();
    if (roll < 0.1) return ` # comment ${comment++}\n${maybe() ? "\n" : ""}`;
    return roll < 0.6 ? " " : pick(["\n", "  ", "\n\n", "\t", " \n  "]);
  };
  const tokens = [
    ...(maybe(0.2) ? [`# header ${comment++}\n`] : []),
    ...some(() => ["detector", pick(["a", "b_2", "c-3"]), ...some(() => pick(statements)(), 12).flat()], 3).flat(),
  ];
  return tokens.map((t) => t + (t.endsWith("\n") ? "" : separator())).join("") + (maybe(0.2) ? "# tail\n" : "");
}

describe("detc fmt", () => {
  const messy = "detector d classes 21\ntap layer3 backbone resnet50   # the network\n";
  const canonical = "detector d\nbackbone resnet50  # the network\ntap layer3\nclasses 21\n";

  it("--check lists the files that would change, changes nothing, and exits 1", () => {
    const path = specFile(messy);
    const { code, stdout } = detc(["fmt", "--check", path, "examples/resnet50.det"]);
    expect(code).toBe(1);
    expect(stdout).toBe(`${path}\n1 file would be reformatted, 1 file already formatted\n`);
    expect(readFileSync(path, "utf8")).toBe(messy);
    expect(detc(["fmt", "--check", ...examples.map((e) => `examples/${e}`)])).toMatchObject({ code: 0 });
  });

  it("rewrites files in place, keeping their mode, and says which changed", () => {
    const path = specFile(messy);
    const mode = statSync(path).mode;
    const { code, stdout } = detc(["fmt", path]);
    expect(code).toBe(0);
    expect(stdout).toBe(`formatted ${path}\n1 file reformatted, 0 files unchanged\n`);
    expect(readFileSync(path, "utf8")).toBe(canonical);
    expect(statSync(path).mode).toBe(mode);
    expect(readdirSync(join(path, ".."))).toEqual(["spec.det"]);
    expect(detc(["fmt", path]).stdout).toBe("0 files reformatted, 1 file unchanged\n");
  });

  it("leaves a file with syntax errors as it is, prints them and exits 1", () => {
    const broken = "detector d\nbackbone resnet50\ntap layer3,\nclasses 21\n";
    const path = specFile(broken);
    const { code, stdout } = detc(["fmt", path]);
    expect(code).toBe(1);
    expect(stdout).toContain("error[E001]");
    expect(stdout).toContain(`--> ${path}:4:1`);
    expect(stdout).toContain("1 file with syntax errors (left as they are)");
    expect(readFileSync(path, "utf8")).toBe(broken);
  });
});

describe("detc check output for tools", () => {
  const badTap = "detector d\nbackbone vgg16_bn\ntap features.44\nclasses 21\n";

  it("--format github prints one workflow annotation per diagnostic", () => {
    const path = specFile(badTap + "detector w\nbackbone resnet50\ntap layer4\nclasses 21\n");
    const { code, stdout } = detc(["check", "--format", "github", path]);
    expect(code).toBe(1);
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(
      new RegExp(`^::error file=${path},line=3,col=5,endLine=3,endColumn=16,title=E011::\`features\\.44\` is not a node of vgg16_bn%0Ahelp: nearest valid taps: features\\.43`),
    );
    expect(lines.some((l) => l.startsWith("::warning ") && l.includes("title=W050::"))).toBe(true);
    expect(lines.every((l) => l.startsWith("::"))).toBe(true);
  });

  it("--format rejects unknown formats and --json (usage error)", () => {
    expect(detc(["check", "--format", "sarif", "examples/resnet50.det"]).code).toBe(2);
    expect(detc(["check", "--format", "github", "--json", "examples/resnet50.det"]).code).toBe(2);
  });

  it("colours only on a terminal and never with NO_COLOR", () => {
    const path = specFile(badTap);
    const escape = "\u001b[";
    expect(detc(["check", path], {}).stdout).not.toContain(escape);
    expect(detc(["check", path], { FORCE_COLOR: "1" }).stdout).toContain(escape);
    expect(detc(["check", path], { FORCE_COLOR: "1", NO_COLOR: "1" }).stdout).not.toContain(escape);
    // A real terminal, through util-linux's `script`, which gives the command a pseudo-terminal.
    const onTerminal = (env: Record<string, string | undefined>) =>
      spawnSync("script", ["-qec", `${JSON.stringify(process.execPath)} ${JSON.stringify(cli)} check ${JSON.stringify(path)}`, "/dev/null"], {
        cwd: root,
        encoding: "utf8",
        env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: undefined, ...env },
      }).stdout;
    expect(onTerminal({})).toContain(escape);
    expect(onTerminal({ NO_COLOR: "1" })).not.toContain(escape);
  });
});
