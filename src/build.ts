/**
 * `npm run build`: everything the package ships in `dist/` (or the folder given as the first argument):
 *
 * - `detc.js` (the CLI) and `index.js` (the library), bundled for Node with shared chunks;
 *   TensorFlow.js and sharp stay external, loaded from node_modules;
 * - `web/`, what `detc export --format web` copies: `detector.js` bundled for the browser with
 *   TensorFlow.js inside (the detection code must not reach Node: esbuild fails on a `node:` import
 *   for this platform), the wasm backend's binaries, and the demo page;
 * - `types/`, the library's declarations, emitted by tsc (`--no-types` skips them, for test runs).
 */
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";
import { build, type BuildOptions } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const outdir = args.find((arg) => !arg.startsWith("--")) ?? join(root, "dist");

/** The wasm backend's binaries: plain, SIMD, and SIMD with threads (used only on cross-origin-isolated pages). */
const WASM_BINARIES = ["tfjs-backend-wasm.wasm", "tfjs-backend-wasm-simd.wasm", "tfjs-backend-wasm-threaded-simd.wasm"];

/** The browser bundle's options, also used by the test that keeps Node out of the detection code. */
export const webBundleOptions: BuildOptions = {
  entryPoints: [join(root, "src/web/detector.ts")],
  bundle: true,
  platform: "browser",
  format: "esm",
  target: "es2022",
  minify: true,
  legalComments: "linked",
  logLevel: "warning",
  logOverride: { "empty-import-meta": "silent" },
};

/** How Node code is bundled: the CLI and library here, the benches' measurement children too. */
export const nodeBundleOptions: BuildOptions = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: ["@tensorflow/*", "sharp"],
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
  logLevel: "warning",
};

async function buildNode(): Promise<void> {
  await build({
    ...nodeBundleOptions,
    entryPoints: { detc: join(root, "src/cli/detc.ts"), index: join(root, "src/index.ts") },
    splitting: true,
    outdir,
    chunkNames: "chunks/[name]-[hash]",
  });
}

async function buildWeb(): Promise<void> {
  const web = join(outdir, "web");
  await build({ ...webBundleOptions, outfile: join(web, "detector.js") });
  copyFileSync(join(root, "src/web/index.html"), join(web, "index.html"));
  const wasmDist = dirname(createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
  for (const binary of WASM_BINARIES) copyFileSync(join(wasmDist, binary), join(web, binary));
}

function buildTypes(): void {
  execFileSync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.lib.json"), "--outDir", join(outdir, "types")], { stdio: "inherit" });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  await Promise.all([buildNode(), buildWeb()]);
  if (!args.includes("--no-types")) buildTypes();
}
