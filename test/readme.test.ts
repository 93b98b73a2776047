/** The README documents every diagnostic code the checker can emit. */
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { specifiedRules } from "../src/check/rules/index.js";

it("every rule's code and name are in the README's diagnostics table", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  for (const rule of specifiedRules) expect(readme).toContain(`| ${rule.code} | ${rule.name} |`);
});
