/**
 * `npm run bench [-- NAME…]`: every benchmark, or the named ones (check, bounded, fuzz, training,
 * memory, eval, weights, wasm), each printing ratios against a baseline measured in the same run.
 */
import { cpus } from "node:os";
import { benchBounded } from "./bounded.js";
import { benchCheck } from "./check.js";
import { benchEval } from "./eval.js";
import { benchFuzz } from "./fuzz.js";
import { benchMemory } from "./memory.js";
import { benchTraining } from "./training.js";
import { benchWasmKernels } from "./wasm-kernels.js";
import { benchWeightsParity } from "./weights-parity.js";

const BENCHES: readonly { readonly name: string; readonly heading: string; readonly lines: () => string[] | Promise<string[]> }[] = [
  { name: "check", heading: "detc check vs printing the model", lines: benchCheck },
  { name: "bounded", heading: "Bounded time and memory on hostile specs", lines: benchBounded },
  { name: "fuzz", heading: "check --json against its schema on fuzzed specs", lines: benchFuzz },
  { name: "training", heading: "Training and inference vs torchvision, per engine", lines: () => benchTraining() },
  { name: "memory", heading: "Training memory vs torchvision, per phase", lines: () => benchMemory() },
  { name: "eval", heading: "detc eval vs pycocotools on a val2017-sized case", lines: () => benchEval() },
  { name: "weights", heading: "Weights parity of the seed configurations with torchvision", lines: benchWeightsParity },
  { name: "wasm", heading: "WASM training kernels vs tfjs-wasm's own", lines: benchWasmKernels },
];

const requested = process.argv.slice(2);
const unknown = requested.filter((name) => !BENCHES.some((bench) => bench.name === name));
if (unknown.length) {
  console.error(`unknown benchmark ${unknown.join(", ")}; known: ${BENCHES.map((bench) => bench.name).join(", ")}`);
  process.exit(2);
}
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`);
for (const bench of BENCHES.filter((b) => requested.length === 0 || requested.includes(b.name))) {
  console.log(`\n## ${bench.heading}\n`);
  for (const line of await bench.lines()) if (!line.startsWith("machine:")) console.log(line);
}
