/**
 * The language, checker, zoo, lowering and detection code runs in web pages, so it imports nothing
 * from Node: bundled for the browser, every module of those folders resolves, with no `node:`
 * import among them. File system and native engine stay at the edges (CLI, data, train, weights).
 */
import { readdirSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { webBundleOptions } from "../../src/build.js";

const root = new URL("../..", import.meta.url).pathname;

/** Folders whose every module must run in a browser, and single modules the web detector uses from elsewhere. */
const BROWSER_FOLDERS = ["src/language", "src/check", "src/zoo", "src/lowering", "src/detection", "src/web"];
const BROWSER_FILES = ["src/train/restore-variables.ts", "src/weights/safetensors.ts", "src/data/transforms.ts"];

function modules(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(folder, file));
}

/** Bundles `files` as the web detector is bundled; the errors esbuild reports, and every input it read. */
async function bundleForBrowser(files: readonly string[]): Promise<{ errors: string[]; inputs: Record<string, { imports: { path: string }[] }> }> {
  const contents = files.map((file) => `export * as m${files.indexOf(file)} from "./${relative(root, join(root, file))}";`).join("\n");
  try {
    const result = await build({ ...webBundleOptions, entryPoints: undefined, stdin: { contents, resolveDir: root, loader: "ts" }, write: false, metafile: true, logLevel: "silent", minify: false, legalComments: "none" });
    return { errors: [], inputs: result.metafile.inputs };
  } catch (error) {
    return { errors: ((error as { errors?: { text: string }[] }).errors ?? []).map((e) => e.text), inputs: {} };
  }
}

describe("browser-safe code", () => {
  it("language, check, zoo, lowering, detection and web bundle for the browser with no node: import", async () => {
    const files = [...BROWSER_FOLDERS.flatMap(modules), ...BROWSER_FILES];
    expect(files.length).toBeGreaterThan(50);
    const { errors, inputs } = await bundleForBrowser(files);
    expect(errors).toEqual([]);
    // Packages may map their own Node-only files away for browsers (their "browser" field); ours may not.
    const ours = Object.entries(inputs).filter(([input]) => input.startsWith("src/"));
    expect(ours.length).toBeGreaterThanOrEqual(files.length);
    const nodeImports = ours.flatMap(([input, { imports }]) => imports.filter((i) => /^(node:|\(disabled\))/.test(i.path)).map((i) => `${input} → ${i.path}`));
    expect(nodeImports).toEqual([]);
  }, 60_000);

  it("a module that reads files does not bundle for the browser (what the test above would catch)", async () => {
    const { errors } = await bundleForBrowser(["src/train/checkpoint.ts"]);
    expect(errors.join("\n")).toMatch(/node:fs/);
  }, 60_000);
});
