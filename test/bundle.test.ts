/**
 * The CLI bundle loads TensorFlow.js only for the commands that run a model: `detc check`, `fmt`,
 * `diagram`, `emit` and the language server start in a fraction of a second because nothing they
 * import statically reaches `@tensorflow/*`.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { expect, inject, it } from "vitest";

const cli = inject("cli");

/** Every file the entry imports statically, followed through the chunks. */
function staticImports(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const source = readFileSync(file, "utf8");
    const specifiers = [...source.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+"([^"]+)"|^\s*import\s+"([^"]+)"/gm)].map((m) => m[1] ?? m[2]!);
    seen.set(file, specifiers);
    for (const specifier of specifiers) if (specifier.startsWith(".")) visit(join(dirname(file), specifier));
  };
  visit(entry);
  return seen;
}

it("the entry and its static chunks import no @tensorflow package", () => {
  const offenders = [...staticImports(cli)].filter(([, specifiers]) => specifiers.some((s) => s.startsWith("@tensorflow/")));
  expect(offenders.map(([file]) => file)).toEqual([]);
});
