/**
 * torchvision weights at full size (issue 13; test/weights covers small networks with committed
 * fixtures, these are the large ones, generated on the fly): the seed tutorial's five models (the
 * modules `detc emit torchvision` writes, the tutorial's layout) and torchvision's stock
 * `fasterrcnn_resnet50_fpn` (saved with pre-0.13 key names, batch norms at eps 0 as its COCO file)
 * and `fasterrcnn_mobilenet_v3_large_fpn` (also at 320 px), against `examples/torchvision/`. Each
 * gets random weights in torchvision (bench/weights_parity.py, Debian's /usr/bin/python3); detc
 * loads the file strictly, as `--init` does, and both compute the transform, backbone, FPN and
 * RPN-head outputs of the formula image at the transform's size. Then `detc export` writes the
 * weights back in the model's layout and torchvision loads them with strict=True.
 * One line per configuration with the largest relative error of each output group, and the
 * float32-vs-float64 rounding of torchvision's own outputs; a mismatch beyond 1e-4 fails.
 *
 *     npx tsx bench/weights-parity.ts [NAME…]     # exits 1 when a configuration fails
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
import { exportStateDict } from "../src/weights/export-state-dict.js";
import { forwardFeatures } from "../src/weights/forward-features.js";
import type { Layout } from "../src/weights/layouts.js";
import { initialiseWeights } from "../src/weights/load-weights.js";
import { writeStateDict } from "../src/weights/state-dict.js";
import { formulaImage, readNpy, relativeError } from "../test/weights/support.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const PYTHON = "/usr/bin/python3";
const SEEDS = ["vgg16_bn", "resnet50", "efficientnet_b0", "efficientnet_b0_fpn", "mobilenet_v3_large_fpn"];
const STOCK = ["fasterrcnn_resnet50_fpn", "fasterrcnn_mobilenet_v3_large_fpn", "fasterrcnn_mobilenet_v3_large_320_fpn"];
const WEIGHTS_SEED = 0;
const TOLERANCE = 1e-4;
const GROUPS = ["input", "body", "fpn", "rpn"];

interface Job {
  readonly file: string;
  /** An emitted module's path, or `stock:BUILDER`. */
  readonly model: string;
  readonly layout: Layout;
  readonly size: number;
  readonly folder: string;
}

interface Outcome {
  readonly line: string;
  readonly passed: boolean;
}

const python = (args: string[]) => spawnSync(PYTHON, args, { encoding: "utf8", maxBuffer: 1 << 24 });

/** detc with torchvision's weights against torchvision's outputs; then the export back. */
async function compare(job: Job): Promise<Outcome> {
  const [detector] = checkSource(readFileSync(join(root, job.file), "utf8")).detectors;
  const model = buildFasterRCNN(detector!.spec);
  try {
    initialiseWeights(model, { specDir: join(root, "examples"), init: join(job.folder, "model.pth") });
    const outputs = forwardFeatures(model, formulaImage(job.size));
    const worst = new Map<string, number>();
    try {
      const goldens = readdirSync(job.folder).filter((f) => f.endsWith(".npy")).map((f) => f.slice(0, -4));
      // An output only one side has, or of another shape, fails its group.
      for (const name of new Set([...goldens, ...Object.keys(outputs)])) {
        const golden = goldens.includes(name) ? readNpy(join(job.folder, `${name}.npy`)) : undefined;
        const output = outputs[name];
        const fits = golden && output && output.shape.join() === golden.shape.join();
        const error = fits ? relativeError(output.dataSync(), golden.values) : Infinity;
        const group = name.split(".")[0]!;
        worst.set(group, Math.max(worst.get(group) ?? 0, error));
      }
    } finally {
      tf.dispose(Object.values(outputs));
    }
    const rounding = Math.max(...Object.values(JSON.parse(readFileSync(join(job.folder, "rounding.json"), "utf8")) as Record<string, number>));
    const exported = join(job.folder, "exported.pth");
    writeStateDict(exported, await exportStateDict(model, job.layout));
    const strict = python([join(root, "bench/weights_parity.py"), "--check-export", job.model, exported]);
    const loads = strict.status === 0 ? `export (${job.layout}) loads: ${strict.stdout.trim()}` : `export FAILS strict=True: ${strict.stderr.trim().split("\n").at(-1)}`;
    const passed = [...worst.values()].every((error) => error <= TOLERANCE) && strict.status === 0;
    const errors = GROUPS.filter((group) => worst.has(group)).map((group) => `${group} ${worst.get(group)!.toExponential(1)}`);
    return {
      line: `${job.file.padEnd(55)} ${`${job.size}px`.padEnd(6)} ${errors.join(" · ").padEnd(48)} f32/f64 ${rounding.toExponential(1)} · ${loads} · ${passed ? "pass" : "FAIL"}`,
      passed,
    };
  } catch (error) {
    return { line: `${job.file}: FAIL, ${(error as Error).message.split("\n")[0]}`, passed: false };
  } finally {
    model.dispose();
  }
}

/**
 * One line per configuration, or one saying why it was skipped. A failure also sets a non-zero
 * `process.exitCode`, so `npm run bench` reports it.
 */
export async function benchWeightsParity(only?: readonly string[]): Promise<string[]> {
  if (python(["-c", "import torchvision"]).status !== 0)
    return [`weights parity skipped: ${PYTHON} cannot import torchvision (apt-get install -y python3-torchvision)`];
  await selectBackend("auto");
  const folder = mkdtempSync(join(tmpdir(), "detc-weights-parity-"));
  try {
    const job = (file: string, model: string, layout: Layout, name: string): Job => {
      const [detector] = checkSource(readFileSync(join(root, file), "utf8")).detectors;
      const input = detector!.spec.input;
      mkdirSync(join(folder, name));
      return { file, model, layout, size: input.kind === "resize" ? input.min : input.height, folder: join(folder, name) };
    };
    const wanted = (name: string) => !only || only.length === 0 || only.includes(name);
    const jobs = [
      ...SEEDS.filter(wanted).map((name) => {
        const file = `examples/${name}.det`;
        const [detector] = checkSource(readFileSync(join(root, file), "utf8")).detectors;
        const module = join(folder, `${name}.py`);
        writeFileSync(module, emitTorchvisionModule(detector!, { source: file, moduleName: name, layout: "tutorial" }));
        return job(file, module, "tutorial", name);
      }),
      ...STOCK.filter(wanted).map((name) => job(`examples/torchvision/${name}.det`, `stock:${name}`, "torchvision", name)),
    ];
    const started = performance.now();
    const made = python([join(root, "bench/weights_parity.py"), String(WEIGHTS_SEED), ...jobs.flatMap((j) => [j.model, String(j.size), j.folder])]);
    if (made.status !== 0) throw new Error(`bench/weights_parity.py failed:\n${made.stderr}`);
    const lines = [`torchvision: ${jobs.length} models, random weights (seed ${WEIGHTS_SEED}), formula image at each transform's size, ${((performance.now() - started) / 1000).toFixed(0)} s`];
    const outcomes: Outcome[] = [];
    for (const j of jobs) {
      outcomes.push(await compare(j));
      // Minutes apart at full size: say each as it comes.
      process.stderr.write(`${outcomes.at(-1)!.line}\n`);
    }
    lines.push(...outcomes.map((o) => o.line));
    if (outcomes.some((o) => !o.passed)) process.exitCode = 1;
    lines.push(`max relative error allowed: ${TOLERANCE}`);
    return lines;
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) for (const line of await benchWeightsParity(process.argv.slice(2))) console.log(line);
