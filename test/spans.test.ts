/**
 * Every diagnostic code underlines the text it is about: one spec per code, the text its primary
 * span covers, and its line and column agreeing with its offset.
 */
import { describe, expect, it } from "vitest";
import { checkSource, SYNTAX_ERROR } from "../src/check/index.js";
import { specifiedRules } from "../src/check/rules/index.js";
import type { FileLookup } from "../src/check/rule.js";
import type { Position } from "../src/language/ast.js";

const detector = (...lines: string[]) => ["detector d", ...lines, ""].join("\n");
const base = (...lines: string[]) => detector("backbone resnet50", ...lines);

/** code → a spec that has that problem, and the exact text its primary span must cover. */
const CASES: Record<string, { source: string; underlined: string; occurrence?: number; files?: FileLookup }> = {
  [SYNTAX_ERROR]: { source: base("tap layer3", "fpn extra maxpool", "classes 21"), underlined: "extra" },
  E002: { source: base("tap layer3"), underlined: "d" },
  E003: { source: base("tap layer3", "classes 21", "classes 3"), underlined: "classes 3" },
  E004: { source: `${base("tap layer3", "classes 21")}${base("tap layer3", "classes 21")}`, underlined: "d", occurrence: 2 },
  E005: { source: detector("backbone resnet50 trainable 6", "tap layer3", "classes 21"), underlined: "6" },
  E006: { source: detector("backbone resnet50 batch_norm_eps -0.5", "tap layer3", "classes 21"), underlined: "-0.5" },
  E007: {
    source: detector('backbone resnet50 weights "nope.pth"', "tap layer3", "classes 21"),
    underlined: '"nope.pth"',
    files: (path) => ({ kind: "missing", resolved: `/specs/${path}` }),
  },
  E010: { source: detector("backbone resnet5", "tap layer3", "classes 21"), underlined: "resnet5" },
  E011: { source: base("tap layer9", "classes 21"), underlined: "layer9" },
  E012: { source: base("tap layer3, layer3.5.relu_2", "classes 21"), underlined: "layer3.5.relu_2" },
  E013: { source: base("tap flatten", "classes 21"), underlined: "flatten" },
  E014: { source: base("tap layer2, layer3", "classes 21"), underlined: "tap layer2, layer3" },
  E015: { source: base("tap layer3, layer2", "fpn 256", "classes 21"), underlined: "layer2", occurrence: 1 },
  W016: { source: base("tap layer2, layer4", "fpn 256", "anchors sizes 32, 64 ratios 1.0", "classes 21"), underlined: "layer4" },
  I018: { source: base("tap layer3", "classes 21", "input 500"), underlined: "input 500" },
  E020: { source: base("tap layer3", "out_channels 512", "classes 21"), underlined: "512" },
  E021: { source: base("tap layer2, layer3", "fpn 256", "in_channels 512, 999", "classes 21"), underlined: "999" },
  E030: {
    source: base("tap layer2, layer3", "fpn 256", "anchors sizes (32), (64), (128), (256) ratios 1.0", "classes 21"),
    underlined: "(128), (256)",
  },
  E031: {
    source: base("tap layer2, layer3, layer4", "fpn 256", "anchors sizes (64), (32, 64), (128, 256) ratios 1.0", "classes 21"),
    underlined: "(64)",
  },
  E032: { source: base("tap layer2, layer3", "fpn 0", "classes 21"), underlined: "0" },
  W033: { source: base("tap layer3", "anchors sizes (8) ratios 1.0", "classes 21"), underlined: "8" },
  E034: { source: base("tap layer3", "classes 21", "train lr 1e309"), underlined: "1e309" },
  E040: { source: base("tap layer2, layer3", "fpn 256", "roi align 7 sampling 2 on layer9", "classes 21"), underlined: "layer9" },
  W050: { source: base("tap layer4", "classes 21"), underlined: "layer4" },
  E060: { source: base("tap layer3", "classes 1"), underlined: "1" },
  E070: { source: base("tap layer3", "classes 21", "train epochz 3"), underlined: "epochz" },
};

/** The 1-based line and column of an offset, counting line breaks as the lexer does. */
function positionOf(source: string, offset: number): Omit<Position, "offset"> {
  const before = source.slice(0, offset);
  const lines = before.split(/\r\n|\r|\n/);
  return { line: lines.length, column: lines.at(-1)!.length + 1 };
}

/** Offset of the n-th (1-based) occurrence of `text` as a whole word. */
function nth(source: string, text: string, n: number): number {
  const escaped = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const matches = [...source.matchAll(new RegExp(`(?<![\\w.])${escaped}(?![\\w.])`, "g"))];
  return matches[n - 1]!.index!;
}

describe("every diagnostic code points at the offending text", () => {
  it("has a case for every rule", () => {
    expect(Object.keys(CASES).sort()).toEqual([SYNTAX_ERROR, ...specifiedRules.map((r) => r.code)].sort());
  });

  for (const [code, { source, underlined, occurrence = 1, files }] of Object.entries(CASES)) {
    it(`${code} underlines \`${underlined}\``, () => {
      const { diagnostics } = checkSource(source, { ...(files && { files }) });
      const found = diagnostics.find((d) => d.code === code);
      expect(found, `no ${code} in ${JSON.stringify(diagnostics.map((d) => d.code))}`).toBeDefined();
      const { start, end } = found!.primary.span;
      expect(source.slice(start.offset, end.offset)).toBe(underlined);
      expect(start.offset).toBe(nth(source, underlined, occurrence));
      expect({ line: start.line, column: start.column }).toEqual(positionOf(source, start.offset));
      expect({ line: end.line, column: end.column }).toEqual(positionOf(source, end.offset));
      for (const label of found!.secondary ?? []) {
        expect({ line: label.span.start.line, column: label.span.start.column }).toEqual(positionOf(source, label.span.start.offset));
        expect(label.span.end.offset).toBeGreaterThanOrEqual(label.span.start.offset);
      }
    });
  }
});
