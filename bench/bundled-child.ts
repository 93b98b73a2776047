/**
 * The benches' measurement children, bundled as `npm run build` bundles the CLI and run by plain
 * Node, as users run detc. Run through tsx, a child also carried tsx's loader (its module hooks in a
 * second V8 isolate, the transpiled sources and their source maps): about 170 MB more resident
 * memory at start (208 vs 39 MB), charged to detc's side of every comparison.
 */
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { nodeBundleOptions } from "../src/build.js";
import { hugePagesTunablesHere } from "../src/engine/huge-pages.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Bundles `entry` (a .ts file) into node_modules/.cache (so packages resolve as from the repository) and returns the bundle's path. */
export async function bundledChild(entry: string): Promise<string> {
  const outfile = join(root, "node_modules", ".cache", "detc-bench", `${basename(entry, ".ts")}.mjs`);
  await build({ ...nodeBundleOptions, entryPoints: [entry], outfile });
  return outfile;
}

/**
 * What the `detc` command adds to its environment before it runs an engine (src/cli/detc.ts):
 * glibc's malloc on huge pages where they can be had. A bench child gets it too, so it measures
 * detc as users run it.
 */
export function detcEnvironment(): NodeJS.ProcessEnv {
  const tunables = hugePagesTunablesHere();
  return tunables === undefined ? {} : { GLIBC_TUNABLES: tunables };
}
