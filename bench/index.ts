/** `npm run bench`: every benchmark, each printing ratios against a baseline measured in the same run. */
import { cpus } from "node:os";
import { benchBounded } from "./bounded.js";
import { benchCheck } from "./check.js";
import { benchFuzz } from "./fuzz.js";
import { benchTraining } from "./training.js";
import { benchWasmKernels } from "./wasm-kernels.js";
import { benchWeightsParity } from "./weights-parity.js";

console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "unknown CPU"}, Node ${process.version}`);
console.log("\n## detc check vs printing the model\n");
for (const line of benchCheck()) console.log(line);
console.log("\n## Bounded time and memory on hostile specs\n");
for (const line of benchBounded()) console.log(line);
console.log("\n## check --json against its schema on fuzzed specs\n");
for (const line of benchFuzz()) console.log(line);
console.log("\n## Training and inference vs torchvision, per engine\n");
for (const line of await benchTraining()) if (!line.startsWith("machine:")) console.log(line);
console.log("\n## Weights parity of the seed configurations with torchvision\n");
for (const line of await benchWeightsParity()) console.log(line);
console.log("\n## WASM training kernels vs tfjs-wasm's own\n");
for (const line of await benchWasmKernels()) console.log(line);
