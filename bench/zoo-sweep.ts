/**
 * The full zoo sweep (issue #19): every network against torchvision in full — every node name in
 * order, every state-dict key and shape, the parameter count, every node's shape at three input
 * sizes (square, non-square, odd) and module-path resolution — from goldens generated on the fly
 * by test/fixtures/make_goldens.py --full (Debian's /usr/bin/python3, random weights). The tests
 * keep only small digests of this for most networks; this names the first difference.
 *
 *     npx tsx bench/zoo-sweep.ts [NETWORK…]     # exits 1 when a network differs
 *     npx tsx bench/zoo-sweep.ts --goldens DIR  # against goldens made earlier (make_goldens.py --full --out DIR)
 *
 * Making the goldens dominates (create_feature_extractor traces the model once per module path):
 * about a minute per large network on a busy 2-core machine.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { countParameters, nodeNames, resolveTap, stateEntries } from "../src/zoo/graph.js";
import { backbones, findBackbone } from "../src/zoo/index.js";
import { inferTypes } from "../src/zoo/infer.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const PYTHON = "/usr/bin/python3";

interface FullGolden {
  parameters: number;
  nodes: string[];
  shapes: Record<string, (number[] | null)[]>;
  stateDict: Record<string, number[]>;
  resolve: Record<string, string>;
}

/** The first way our description of `name` differs from torchvision's, or undefined. */
function firstDifference(name: string, golden: FullGolden): string | undefined {
  const graph = findBackbone(name)!.graph();
  const nodes = nodeNames(graph);
  const mismatch = nodes.findIndex((n, i) => n !== golden.nodes[i]);
  // One list may be a prefix of the other: then they part where the shorter ends.
  const at = mismatch >= 0 ? mismatch : Math.min(nodes.length, golden.nodes.length);
  if (mismatch >= 0 || nodes.length !== golden.nodes.length)
    return `node ${at}: ours ${nodes[at] ?? "(none)"}, torchvision ${golden.nodes[at] ?? "(none)"}`;
  const parameters = countParameters(graph.nodes);
  if (parameters !== golden.parameters) return `parameters: ours ${parameters}, torchvision ${golden.parameters}`;
  const ours = stateEntries(graph.nodes).map((e) => `${e.key}:${e.shape.join(",")}`);
  const theirs = Object.entries(golden.stateDict).map(([key, shape]) => `${key}:${shape.join(",")}`);
  const keyIndex = ours.findIndex((k, i) => k !== theirs[i]);
  if (keyIndex >= 0 || ours.length !== theirs.length) return `state dict entry ${keyIndex}: ours ${ours[keyIndex]}, torchvision ${theirs[keyIndex]}`;
  for (const [size, shapes] of Object.entries(golden.shapes)) {
    const types = inferTypes(graph, size.split("x").map(Number) as [number, number]);
    for (const [i, node] of golden.nodes.entries()) {
      const expected = shapes[i];
      const actual = types.get(node)!.shape.join(",");
      if (expected && actual !== expected.join(",")) return `${node} at ${size}: ours [${actual}], torchvision [${expected}]`;
    }
  }
  for (const [path, node] of Object.entries(golden.resolve))
    if (resolveTap(graph, path)?.name !== node) return `${path} resolves to ${resolveTap(graph, path)?.name}, torchvision ${node}`;
  return undefined;
}

/** One line per network, comparing with the goldens in `dir`. */
function compareWith(dir: string, names: readonly string[]): { lines: string[]; failures: number } {
  const lines: string[] = [];
  let failures = 0;
  for (const name of names) {
    const golden = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8")) as FullGolden;
    const difference = firstDifference(name, golden);
    if (difference) failures++;
    const sizes = Object.keys(golden.shapes).join(", ");
    const summary = `${golden.nodes.length} nodes, ${Object.keys(golden.stateDict).length} state-dict entries, shapes at ${sizes}: identical`;
    lines.push(`${name.padEnd(20)} ${difference ? `DIFFERS — ${difference}` : summary}`);
  }
  return { lines, failures };
}

export function benchZooSweep(names: readonly string[] = backbones.map((b) => b.name)): { lines: string[]; failures: number } {
  const out = mkdtempSync(join(tmpdir(), "detc-zoo-sweep-"));
  try {
    const made = spawnSync(PYTHON, ["test/fixtures/make_goldens.py", "--full", "--out", out, ...names], { cwd: root, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`make_goldens.py failed:\n${made.stderr}`);
    return compareWith(out, names);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const goldens = args.indexOf("--goldens");
  const dir = args[goldens + 1]!;
  const inDir = () => readdirSync(dir).map((f) => f.replace(/\.json$/, "")).filter((name) => findBackbone(name));
  const { lines, failures } = goldens >= 0 ? compareWith(dir, inDir()) : benchZooSweep(args.length > 0 ? args : undefined);
  for (const line of lines) console.log(line);
  console.log(failures === 0 ? `every network matches torchvision (${lines.length})` : `${failures} network(s) differ`);
  process.exitCode = failures === 0 ? 0 : 1;
}
