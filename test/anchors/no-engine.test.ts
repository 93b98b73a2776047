/**
 * `detc check --data` stays fast because the anchor analysis loads no engine: importing
 * TensorFlow.js alone costs ~0.5 s, half the check's time budget on the quick start. The analysis
 * takes the detector's geometry from `src/detection/geometry.ts`, which holds no tensor code.
 */
import { build } from "esbuild";
import { expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;

/** Every module `entry` imports, transitively, as esbuild resolves them (packages left unbundled). */
async function importsOf(entry: string): Promise<string[]> {
  const result = await build({ entryPoints: [entry], absWorkingDir: root, bundle: true, write: false, metafile: true, platform: "node", format: "esm", packages: "external", logLevel: "silent" });
  return Object.values(result.metafile.inputs).flatMap((input) => input.imports.filter((i) => i.external).map((i) => i.path));
}

it("the anchor analysis imports no TensorFlow.js", async () => {
  expect((await importsOf("src/anchors/analyze.ts")).filter((path) => path.startsWith("@tensorflow/"))).toEqual([]);
});

it("the training side of the same geometry does (what the test above would catch)", async () => {
  expect(await importsOf("src/detection/anchor-utils.ts")).toContain("@tensorflow/tfjs");
});
