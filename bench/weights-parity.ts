/**
 * torchvision weights at the seed configurations' real size (issue #5; test/weights covers one small
 * network per family with committed fixtures, these are the large ones, generated on the fly): for
 * each seed example, the model `detc emit torchvision` writes gets random weights and saves them
 * (bench/weights_parity.py, Debian's /usr/bin/python3), detc loads that file as `--init` does, and
 * both compute the transform, backbone, FPN and RPN-head outputs of the formula image through the
 * spec's own input handling (a 128-px image resized to 800×800 by the default `min 800 max 1333`).
 * One line per configuration with the largest relative error of each output group; a mismatch
 * beyond 1e-4 fails.
 *
 *     npx tsx bench/weights-parity.ts      # exits 1 when a configuration fails
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs";
import { checkSource } from "../src/check/index.js";
import { buildFasterRCNN } from "../src/detection/faster-rcnn.js";
import { emitTorchvisionModule } from "../src/emit/torchvision.js";
import { selectBackend } from "../src/engine/backend.js";
import { forwardFeatures } from "../src/weights/forward-features.js";
import { initialiseWeights } from "../src/weights/load-weights.js";
import { formulaImage, readNpy, relativeError } from "../test/weights/support.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const PYTHON = "/usr/bin/python3";
const SEEDS = ["vgg16_bn", "resnet50", "efficientnet_b0", "efficientnet_b0_fpn", "mobilenet_v3_large_fpn"];
const IMAGE_SIZE = 128;
const WEIGHTS_SEED = 0;
const TOLERANCE = 1e-4;
const GROUPS = ["input", "body", "fpn", "rpn"];

interface Outcome {
  readonly line: string;
  readonly passed: boolean;
}

/** detc with torchvision's weights against torchvision's outputs, written in `folder`. */
function compare(file: string, folder: string): Outcome {
  const [detector] = checkSource(readFileSync(join(root, file), "utf8")).detectors;
  const model = buildFasterRCNN(detector!.spec);
  try {
    const [report] = initialiseWeights(model, { specDir: join(root, "examples"), init: join(folder, "model.pth") });
    const problems = [...report!.missing, ...report!.unexpected, ...report!.mismatched.map((m) => m.key)];
    if (problems.length > 0) return { line: `${file}: FAIL, the file does not fit: ${problems.slice(0, 3).join(", ")}`, passed: false };
    const outputs = forwardFeatures(model, formulaImage(IMAGE_SIZE));
    const size = outputs.input!.shape.slice(2).join("×");
    const worst = new Map<string, number>();
    try {
      const goldens = readdirSync(folder).filter((f) => f.endsWith(".npy")).map((f) => f.slice(0, -4));
      // An output only one side has, or of another shape, fails its group.
      for (const name of new Set([...goldens, ...Object.keys(outputs)])) {
        const golden = goldens.includes(name) ? readNpy(join(folder, `${name}.npy`)) : undefined;
        const output = outputs[name];
        const fits = golden && output && output.shape.join() === golden.shape.join();
        const error = fits ? relativeError(output.dataSync(), golden.values) : Infinity;
        const group = name.split(".")[0]!;
        worst.set(group, Math.max(worst.get(group) ?? 0, error));
      }
    } finally {
      tf.dispose(Object.values(outputs));
    }
    const passed = [...worst.values()].every((error) => error <= TOLERANCE);
    const errors = GROUPS.filter((group) => worst.has(group)).map((group) => `${group} ${worst.get(group)!.toExponential(1)}`);
    return { line: `${file.padEnd(37)} ${size.padEnd(8)} ${errors.join(" · ").padEnd(50)} ${passed ? "pass" : "FAIL"}`, passed };
  } finally {
    model.dispose();
  }
}

/**
 * One line per seed configuration, or one saying why it was skipped. A failure also sets a
 * non-zero `process.exitCode`, so `npm run bench` reports it.
 */
export async function benchWeightsParity(): Promise<string[]> {
  if (spawnSync(PYTHON, ["-c", "import torchvision"]).status !== 0)
    return [`weights parity skipped: ${PYTHON} cannot import torchvision (apt-get install -y python3-torchvision)`];
  await selectBackend("auto");
  const folder = mkdtempSync(join(tmpdir(), "detc-weights-parity-"));
  try {
    const jobs = SEEDS.map((name) => {
      const file = `examples/${name}.det`;
      const [detector] = checkSource(readFileSync(join(root, file), "utf8")).detectors;
      const module = join(folder, `${name}.py`);
      writeFileSync(module, emitTorchvisionModule(detector!, { source: file, moduleName: name }));
      mkdirSync(join(folder, name));
      return { file, module, outputs: join(folder, name) };
    });
    const started = performance.now();
    const python = spawnSync(PYTHON, [join(root, "bench/weights_parity.py"), String(IMAGE_SIZE), String(WEIGHTS_SEED), ...jobs.flatMap((j) => [j.module, j.outputs])], {
      encoding: "utf8",
    });
    if (python.status !== 0) throw new Error(`bench/weights_parity.py failed:\n${python.stderr}`);
    const lines = [`torchvision: ${SEEDS.length} emitted models, random weights (seed ${WEIGHTS_SEED}), ${IMAGE_SIZE}-px formula image, ${((performance.now() - started) / 1000).toFixed(0)} s`];
    const outcomes = jobs.map((job) => compare(job.file, job.outputs));
    lines.push(...outcomes.map((o) => o.line));
    if (outcomes.some((o) => !o.passed)) process.exitCode = 1;
    lines.push(`max relative error allowed: ${TOLERANCE}`);
    return lines;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) for (const line of await benchWeightsParity()) console.log(line);
