/** grammar/detc.tmLanguage.json and the VS Code extension stay in step with the lexer. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { keywords } from "../src/language/tokens.js";

const grammarDir = new URL("../grammar/", import.meta.url).pathname;
const readJson = (path: string) => JSON.parse(readFileSync(join(grammarDir, path), "utf8"));

interface Rule {
  readonly name?: string;
  readonly match?: string;
  readonly captures?: Record<string, { name: string }>;
  readonly patterns?: readonly Rule[];
}

const grammar = readJson("detc.tmLanguage.json") as { scopeName: string; repository: Record<string, Rule> };
const rules = Object.values(grammar.repository).flatMap((rule) => [rule, ...(rule.patterns ?? [])]);

/** The scope the grammar gives `text` when it is the whole input: the first rule that matches all of it. */
function scopeOf(text: string): string | undefined {
  for (const rule of rules) {
    if (rule.match === undefined) continue;
    // TextMate grammars use Oniguruma; these patterns keep to what JavaScript reads the same way.
    const match = new RegExp(rule.match).exec(text);
    if (match?.index === 0 && match[0] === text) return rule.name ?? rule.captures?.["1"]?.name;
  }
  return undefined;
}

describe("the TextMate grammar", () => {
  const statementKeywords = keywords.filter((k) => (k.CATEGORIES ?? []).length === 0).map((k) => String(k.PATTERN));
  const clauseKeywords = keywords.filter((k) => (k.CATEGORIES ?? []).length > 0).map((k) => String(k.PATTERN));

  it.each(statementKeywords)("highlights the statement keyword %s", (word) => {
    expect(scopeOf(word)).toBe("keyword.control.statement.det");
  });

  it.each(clauseKeywords)("highlights the clause keyword %s", (word) => {
    expect(scopeOf(word)).toBe("keyword.other.clause.det");
  });

  it("keeps keywords inside names as names, and reads the other tokens", () => {
    for (const name of ["features.tap", "trainable_layers", "layer3.5.relu_2", "max-pool", "maxpooling"])
      expect(scopeOf(name), name).toBe("variable.other.name.det");
    expect(scopeOf("512x384")).toBe("constant.numeric.dimensions.det");
    for (const number of ["7", "-1", "0.5", "1e-4"]) expect(scopeOf(number), number).toBe("constant.numeric.det");
    expect(scopeOf("# a comment")).toBe("comment.line.number-sign.det");
    expect(scopeOf("detector mbv3_fpn")).toBe("keyword.control.statement.det");
  });
});

describe("the VS Code extension", () => {
  const manifest = readJson("vscode/package.json");

  it("contributes the language, its configuration and the grammar by files that exist", () => {
    const [language] = manifest.contributes.languages;
    expect(language).toMatchObject({ id: "det", extensions: [".det"] });
    expect(existsSync(join(grammarDir, "vscode", language.configuration))).toBe(true);
    const [contributed] = manifest.contributes.grammars;
    expect(contributed).toMatchObject({ language: "det", scopeName: grammar.scopeName });
    expect(join(grammarDir, "vscode", contributed.path)).toBe(join(grammarDir, "detc.tmLanguage.json"));
    expect(readJson("vscode/language-configuration.json").comments.lineComment).toBe("#");
  });

  it("starts `detc lsp --stdio`", () => {
    const main = readFileSync(join(grammarDir, "vscode", manifest.main), "utf8");
    expect(main).toContain('args: ["lsp"], transport: TransportKind.stdio');
  });
});
