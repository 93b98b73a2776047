/** grammar/: the reference grammar and the syntax diagrams stay in step with the parser. */
import { readFileSync } from "node:fs";
import vm from "node:vm";
import { describe, expect, it } from "vitest";
import { renderSyntaxDiagrams, SYNTAX_DIAGRAMS_PATH } from "../grammar/generate.js";
import { detParser } from "../src/language/parser.js";
import { keywords } from "../src/language/tokens.js";

const ebnf = readFileSync(new URL("../grammar/detc.ebnf", import.meta.url), "utf8");
const ruleNames = Object.keys(detParser.getGAstProductions());

describe("syntax-diagrams.html", () => {
  const committed = readFileSync(SYNTAX_DIAGRAMS_PATH, "utf8");

  it("is what `npm run grammar` generates from the parser now", () => {
    expect(committed === renderSyntaxDiagrams(), "grammar/syntax-diagrams.html is stale: run `npm run grammar`").toBe(true);
  });

  it("loads nothing from elsewhere", () => {
    expect(committed).not.toMatch(/<script[^>]*\ssrc=|<link[^>]*\shref=|https?:\/\/unpkg/i);
  });

  it("draws a diagram for every rule, offline", () => {
    // The page's own scripts, run against the two DOM calls they make.
    const diagrams = { innerHTML: "" };
    const page: Record<string, unknown> = {
      document: { getElementById: (id: string) => (id === "diagrams" ? diagrams : null), getElementsByClassName: () => [] },
    };
    page["window"] = page;
    vm.createContext(page);
    for (const [, script] of committed.matchAll(/<script>([\s\S]*?)<\/script>/g)) vm.runInContext(script!, page);
    const drawn = [...diagrams.innerHTML.matchAll(/<h2 class="diagramHeader">(\w+)<\/h2><svg/g)].map((m) => m[1]);
    expect(drawn).toEqual(ruleNames);
  });
});

describe("detc.ebnf", () => {
  const productions = [...ebnf.matchAll(/^(\w+)\s*::=/gm)].map((m) => m[1]);

  it("uses every keyword in a production", () => {
    const rules = ebnf.replace(/\/\*[\s\S]*?\*\//g, "");
    const missing = keywords.map((keyword) => String(keyword.PATTERN)).filter((word) => !rules.includes(`"${word}"`));
    expect(missing).toEqual([]);
  });

  it("defines every rule of the parser, under the parser's name", () => {
    expect(ruleNames.filter((name) => !productions.includes(name))).toEqual([]);
  });

  it("defines nothing but the parser's rules and the token classes", () => {
    const tokenClasses = ["NAME", "NUMBER", "HxW", "STRING", "COMMENT"];
    expect(productions.filter((name) => !ruleNames.includes(name!) && !tokenClasses.includes(name!))).toEqual([]);
  });
});
