/**
 * The train.py `detc emit torchvision --train-script` writes, run in torchvision (Debian's
 * python3-torchvision) under torchrun with CPU processes on gloo, each run on a free port: it
 * trains on `detc run`'s samples, flips and learning rates; resumes after a kill with the same
 * losses as an uninterrupted run; starts from a `detc export` file at that model's loss; refuses a
 * batch the processes cannot share; trains the quick start; and its COCO scorer gives
 * pycocotools' numbers.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { trainingSubset } from "../src/data/dataset.js";
import { batches } from "../src/data/loader.js";
import { seededRandom } from "../src/util/random.js";
import { syntheticDataset } from "../src/data/synthetic.js";
import { prepareExample } from "../src/data/transforms.js";
import { buildFasterRCNN } from "../src/detection/faster-rcnn.js";
import { selectBackend } from "../src/engine/backend.js";
import { learningRate, scheduleOf } from "../src/train/schedule.js";
import { evaluateCoco } from "../src/eval/coco-eval.js";
import { exportStateDict } from "../src/weights/export-state-dict.js";
import { DEFAULT_LAYOUT } from "../src/weights/layouts.js";
import { writeStateDict } from "../src/weights/state-dict.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const PYTHON = "/usr/bin/python3";
const hasTorchvision = spawnSync(PYTHON, ["-c", "import torchvision"]).status === 0;
const SKIP_MESSAGE = `skipped: ${PYTHON} cannot import torchvision (apt-get install python3-torchvision libopenblas0-pthread)`;
if (!hasTorchvision) console.warn(`test/emit-train.test.ts: ${SKIP_MESSAGE}`);

interface StepRecord {
  type: "step";
  step: number;
  epoch: number;
  lr: number;
  loss: number;
  losses: Record<string, number>;
}

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * torchrun's arguments for `processes` CPU processes rendezvousing on a free port (never
 * --standalone's fixed 29400). torch 1.13's torchrun on Python ≥ 3.11 cannot parse its own default
 * `--tee 0 --redirects 0`; these values avoid that: workers' stderr on the console, prefixed with
 * the rank, stdout in logs/.
 */
async function torchrunArgs(processes: number, script: string[]) {
  const port = await freePort();
  return ["-m", "torch.distributed.run", "--nnodes=1", `--nproc_per_node=${processes}`, "--rdzv_backend=c10d",
    `--rdzv_endpoint=127.0.0.1:${port}`, "--tee", "2", "--redirects", "1", "--log_dir", "logs", ...script];
}

async function torchrun(cwd: string, processes: number, script: string[]) {
  rmSync(join(cwd, "logs"), { recursive: true, force: true });
  const result = spawnSync(PYTHON, await torchrunArgs(processes, script), { cwd, encoding: "utf8", timeout: 170_000 });
  const failed = result.status !== 0 ? `${result.signal ? `torchrun killed by ${result.signal}\n` : ""}${workerLogs(join(cwd, "logs"))}` : "";
  return { code: result.status, stderr: result.stderr + failed };
}

/** Every worker's log files (stdout, error.json) under torchrun's --log_dir, to say why a run failed. */
function workerLogs(dir: string): string {
  if (!existsSync(dir)) return "";
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile())
    .map((path) => `--- ${path}\n${readFileSync(path, "utf8")}`)
    .join("\n");
}

function readLog(path: string): { steps: StepRecord[]; evals: ({ step: number } & Record<string, number>)[] } {
  const records = readFileSync(path, "utf8").trim().split("\n").map((line) => JSON.parse(line));
  return { steps: records.filter((r) => r.type === "step"), evals: records.filter((r) => r.type === "eval") };
}

/**
 * Six 96×80 images with one or two boxes of two categories (ids 1 and 7), as COCO instances; the
 * sixth has only crowd regions, so five train: with batch 2 an epoch ends on a one-image step.
 */
async function writeTinyCoco(dir: string) {
  mkdirSync(join(dir, "images"));
  const images = [];
  const annotations = [];
  for (let id = 1; id <= 6; id++) {
    const file = `${id}.png`;
    await sharp({ create: { width: 96, height: 80, channels: 3, background: { r: 30 * id, g: 90, b: 200 - 25 * id } } })
      .composite([{ input: { create: { width: 30, height: 20, channels: 3, background: "white" } }, left: 8 * id, top: 12 }])
      .png()
      .toFile(join(dir, "images", file));
    images.push({ id, file_name: file, width: 96, height: 80 });
    const iscrowd = id === 6 ? 1 : 0;
    annotations.push({ id, image_id: id, category_id: 1 + (id % 2) * 6, bbox: [8 * id, 12, 30, 20], area: 600, iscrowd });
    if (id % 3 === 0) annotations.push({ id: 10 + id, image_id: id, category_id: 7, bbox: [50, 45, 30, 25], area: 750, iscrowd });
  }
  const categories = [{ id: 1, name: "box" }, { id: 7, name: "bar" }];
  writeFileSync(join(dir, "instances.json"), JSON.stringify({ images, annotations, categories }));
}

/**
 * A small resnet18 detector on the tiny set. Every anchor and every proposal is sampled for the
 * losses (batch_size_per_image above their counts), so a loss depends on the weights and the data
 * alone, not on which anchors a random draw picked: torchvision's and detc's can be compared.
 */
const tinySpec = (train: string) =>
  [
    "detector tiny",
    "backbone resnet18",
    "tap layer2",
    "anchors sizes (16, 32) ratios 1.0",
    "roi align 7 sampling 2",
    'classes "box", "bar"',
    "input 96",
    'dataset coco train "instances.json" images "images"',
    "rpn batch_size_per_image 4096 post_nms_top_n_train 8 post_nms_top_n_test 20",
    "box batch_size_per_image 512 representation_size 32",
    `train ${train}`,
    "",
  ].join("\n");

/** Writes the spec and emits tiny_model.py and train.py into dir/emitted; returns that folder. */
function emitTiny(dir: string, name: string, train: string): string {
  const spec = join(dir, `${name}.det`);
  writeFileSync(spec, tinySpec(train));
  const out = join(dir, name);
  mkdirSync(out);
  const { code, stderr } = detc("emit", "torchvision", spec, "-o", join(out, "tiny_model.py"), "--train-script");
  expect(code, stderr).toBe(0);
  return out;
}

/** Imports train.py as a module and reports what the tests compare with detc's own code. */
const PROBE = `
import importlib.util, json, sys
sys.argv = ["train.py"]
spec = importlib.util.spec_from_file_location("train", sys.argv[0])
train = importlib.util.module_from_spec(spec)
spec.loader.exec_module(train)
request = json.load(sys.stdin)
report = {"lrs": [train.learning_rate(step, request["per_epoch"]) for step in range(request["steps"])]}
split = train.Split("train")
training = [i for i, s in enumerate(split.samples) if not all(s["iscrowd"])]
images = train.TrainingImages(split, training)
report["batches"] = []
for share in train.StepBatches(len(training), 0, 1, 0, request["batch_steps"]):
    report["batches"].append([{"id": split.samples[training[item[0]]]["id"], "boxes": images[item][1]["boxes"].tolist()} for item in share])
report["pixels"] = {name: [train.Split(name).image(train.Split(name).samples[i]).reshape(-1).tolist() for i in request["images"]] for name in ("train", "val")}
report["names"] = [[train.own_name(key, {own}) for key in request["names"]] for own in ("backbone.0.0.weight", "backbone.body.0.0.weight")]
report["coco"] = {}
for name, fixture in request["fixtures"].items():
    train.NUM_CLASSES = 1 + max([c["id"] for c in fixture["groundTruth"]["categories"]])
    samples = [{"id": image["id"], "boxes": [], "labels": [], "iscrowd": [], "areas": []} for image in fixture["groundTruth"]["images"]]
    by_id = {s["id"]: s for s in samples}
    for a in fixture["groundTruth"]["annotations"]:
        x, y, w, h = a["bbox"]
        s = by_id[a["image_id"]]
        s["boxes"].append([x, y, x + w, y + h]); s["labels"].append(a["category_id"]); s["iscrowd"].append(bool(a["iscrowd"])); s["areas"].append(a["area"])
    report["coco"][name] = train.coco_stats(samples, fixture["detections"])
print(json.dumps(report))
`;

const FIXTURES = ["basic", "dense", "empty_ground_truth", "mixed", "no_detections", "ties"];

describe.skipIf(!hasTorchvision)(`train.py from detc emit torchvision (${hasTorchvision ? "run in torchvision" : SKIP_MESSAGE})`, () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "detc-train-py-"));
    await writeTinyCoco(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("has detc run's learning rates, batches, flips and synthetic images, detc's weight names and pycocotools' scores", async () => {
    const out = join(dir, "probe");
    mkdirSync(out);
    const { code, stderr } = detc("emit", "torchvision", "examples/quickstart.det", "-o", join(out, "quickstart_model.py"), "--train-script");
    expect(code, stderr).toBe(0);
    const [quickstart] = checkSource(readFileSync(join(root, "examples/quickstart.det"), "utf8")).detectors;
    const settings = quickstart!.spec.settings.train;
    const perEpoch = 20; // warm-up 50 capped to 19 steps; lr_steps 2 decays from step 40 on
    const fixtures = Object.fromEntries(FIXTURES.map((name) => [name, JSON.parse(readFileSync(join(root, `test/fixtures/eval/${name}.json`), "utf8"))]));
    const names = ["backbone.body.features.0.0.weight", "backbone.body.0.0.weight", "backbone.features.0.0.weight", "backbone.0.0.weight", "rpn.head.conv.0.0.weight"];
    const request = { per_epoch: perEpoch, steps: 60, batch_steps: 3, images: [0, 1, 2], names, fixtures };
    const result = spawnSync(PYTHON, ["-c", PROBE.replace('sys.argv[0]', JSON.stringify(join(out, "train.py")))], {
      cwd: out, input: JSON.stringify(request), encoding: "utf8", timeout: 120_000, maxBuffer: 64 * 1024 * 1024,
    });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);

    const schedule = scheduleOf(settings, perEpoch);
    expect(report.lrs).toEqual(Array.from({ length: 60 }, (_, step) => learningRate(schedule, step)));

    const seed = settings.seed;
    const train = syntheticDataset("train", { seed, imageSize: 128 });
    const options = { minSize: 128, maxSize: 128, fixedSize: { height: 128, width: 128 }, flipProbability: settings.flip, training: true };
    const detcBatches = [...batches(trainingSubset(train), { batchSize: settings.batch_size, seed, epochs: 1 })].slice(0, 3);
    const examples = detcBatches.map((batch) =>
      batch.samples.map((sample, position) => {
        const blank = { width: 128, height: 128, data: new Uint8Array(128 * 128 * 3) };
        return prepareExample(sample, blank, options, seededRandom(batch.augmentationSeeds[position]!));
      }),
    );
    expect(report.batches).toEqual(examples.map((batch) => batch.map((e) => ({ id: e.sampleId, boxes: e.boxes.map((box) => box.map(Math.fround)) }))));
    expect(new Set(examples.flat().map((e) => e.flipped))).toEqual(new Set([true, false]));

    for (const split of ["train", "val"] as const) {
      const dataset = syntheticDataset(split, { seed, imageSize: 128 });
      for (const [n, index] of request.images.entries()) {
        const image = await dataset.samples[index]!.loadImage();
        expect(report.pixels[split][n], `${split} image ${index}`).toEqual([...image.data]);
      }
    }

    // --init: a `features` body as torchvision's builders, the tutorial and detc export name it, in
    // either naming of the model (without and with an FPN).
    expect(report.names).toEqual([
      ["backbone.0.0.weight", "backbone.0.0.weight", "backbone.0.0.weight", "backbone.0.0.weight", "rpn.head.conv.0.0.weight"],
      ["backbone.body.0.0.weight", "backbone.body.0.0.weight", "backbone.body.0.0.weight", "backbone.body.0.0.weight", "rpn.head.conv.0.0.weight"],
    ]);

    // train.py numbers objects from 1, so pycocotools' quirk with an annotation id 0 (fixture `ties`)
    // cannot arise there: the reference is detc's scorer (held to pycocotools' goldens in
    // eval.test.ts) on the fixtures with ids from 1.
    for (const name of FIXTURES) {
      const { groundTruth, detections } = fixtures[name];
      const renumbered = { ...groundTruth, annotations: groundTruth.annotations.map((a: object, i: number) => ({ ...a, id: i + 1 })) };
      for (const [metric, expected] of Object.entries(evaluateCoco(renumbered, detections))) {
        if (expected === -1) expect(report.coco[name][metric], `${name} ${metric}`).toBe(-1);
        else expect(Math.abs(report.coco[name][metric] - expected), `${name} ${metric}`).toBeLessThan(1e-12);
      }
    }
  }, 150_000);

  it("resumes after a kill with an uninterrupted run's losses, on detc run's learning rates", async () => {
    const out = emitTiny(dir, "resume", "epochs 3 batch_size 2 warmup_steps 5 lr_steps 2 checkpoint_every 2 frozen_batch_norm false");
    const script = ["train.py", "--workers", "1"];
    const full = await torchrun(out, 2, [...script, "--out", "full"]);
    expect(full.code, full.stderr).toBe(0);
    const uninterrupted = readLog(join(out, "full", "metrics.jsonl"));
    // Five training images, batch 2: three steps an epoch, the last of one image (the other process at weight 0).
    expect(uninterrupted.steps.map((s) => [s.step, s.epoch])).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((step) => [step, Math.floor((step - 1) / 3)]));
    expect(uninterrupted.evals.map((e) => e.step)).toEqual([3, 6, 9]);
    for (const e of uninterrupted.evals) expect(Object.keys(e)).toEqual(["type", "step", "epoch", "AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]);
    // Warm-up capped at the first epoch (min(5, 3 − 1) steps), ×0.1 from epoch 2: detc's own schedule code.
    const schedule = { lr: 0.01, warmupSteps: 2, warmupFactor: 0.001, lrSteps: [2], lrGamma: 0.1, stepsPerEpoch: 3 };
    expect(uninterrupted.steps.map((s) => s.lr)).toEqual(uninterrupted.steps.map((s) => learningRate(schedule, s.step - 1)));

    // Killed (SIGKILL to torchrun and its workers) as soon as a checkpoint is on disk.
    const killed = spawn(PYTHON, await torchrunArgs(2, [...script, "--out", "killed"]), { cwd: out, detached: true, stdio: "ignore" });
    const exited = new Promise((resolve) => killed.on("exit", resolve));
    while (!existsSync(join(out, "killed", "checkpoint.pth"))) await new Promise((resolve) => setTimeout(resolve, 20));
    process.kill(-killed.pid!, "SIGKILL");
    await exited;
    const resumed = await torchrun(out, 2, [...script, "--out", "killed", "--resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const from = Number(/steps (\d+)–9 of 9/.exec(resumed.stderr)![1]) - 1;
    expect(from).toBeGreaterThanOrEqual(2);
    expect(from).toBeLessThan(9);
    const continued = readLog(join(out, "killed", "metrics.jsonl"));
    expect(continued.steps.map((s) => [s.step, s.lr, s.losses])).toEqual(uninterrupted.steps.map((s) => [s.step, s.lr, s.losses]));
    expect(continued.evals.filter((e) => e.step > from)).toEqual(uninterrupted.evals.filter((e) => e.step > from));

    // Back in detc: the log plots, the weights evaluate.
    expect(detc("plot", join(out, "killed"), "-o", join(out, "curves.svg")).code).toBe(0);
    expect(readFileSync(join(out, "curves.svg"), "utf8")).toContain("<svg");
    const evaluated = detc("eval", join(dir, "resume.det"), "--init", join(out, "killed", "model.pth"), "--json");
    expect(evaluated.code, evaluated.stderr).toBe(0);
    expect(Object.keys(JSON.parse(evaluated.stdout))).toContain("AP50");
  }, 240_000);

  it("starts from a detc export at that model's loss under detc run", async () => {
    // recompute_stages changes detc's memory, not its numbers; train.py says it does not carry it over.
    const out = emitTiny(dir, "init", "batch_size 2 checkpoint_every 50 recompute_stages true");
    await selectBackend("auto");
    const [detector] = checkSource(tinySpec("batch_size 2")).detectors;
    const model = buildFasterRCNN(detector!.spec, { seed: 3 });
    let tensors: number;
    try {
      const exported = await exportStateDict(model, DEFAULT_LAYOUT);
      writeStateDict(join(dir, "export.pth"), exported);
      tensors = exported.size;
    } finally {
      model.dispose();
    }
    const detcRun = detc("run", join(dir, "init.det"), "--init", join(dir, "export.pth"), "--max-steps", "1", "--out", join(dir, "detc-init"));
    expect(detcRun.code, detcRun.stderr).toBe(0);
    const [expected] = readLog(join(dir, "detc-init", "metrics.jsonl")).steps;
    const run = await torchrun(out, 2, ["train.py", "--workers", "0", "--init", join(dir, "export.pth"), "--max-steps", "1", "--out", "run"]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`export.pth: ${tensors} tensors loaded\n`);
    expect(run.stderr).toContain("note: `train recompute_stages true` is not carried over");
    // The same images and flips (detc run's first batch), one a process, every anchor and proposal
    // sampled: torchvision's losses are detc's for the same weights, to float32 rounding.
    const [first] = readLog(join(out, "run", "metrics.jsonl")).steps;
    for (const [name, value] of Object.entries(expected!.losses)) expect(Math.abs(first!.losses[name]! / value - 1), name).toBeLessThan(1e-5);
  }, 240_000);

  it("refuses a batch the processes cannot share, with the fix", async () => {
    const out = emitTiny(dir, "batch", "batch_size 4");
    const run = await torchrun(out, 3, ["train.py", "--out", "run"]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      "`train batch_size 4` is images per step in all, which 3 processes cannot share evenly; run 1, 2, 4 processes, " +
        "or set `train batch_size 6` (a multiple of 3) and scale `lr` with it (linear scaling: lr 0.015)",
    );
  }, 120_000);

  it("trains the quick start on detc's synthetic set with two processes", async () => {
    const out = join(dir, "quickstart");
    mkdirSync(out);
    expect(detc("emit", "torchvision", "examples/quickstart.det", "-o", join(out, "quickstart_model.py"), "--train-script").code).toBe(0);
    const run = await torchrun(out, 2, ["train.py", "--max-steps", "2", "--out", "run", "--workers", "1"]);
    expect(run.code, run.stderr).toBe(0);
    const { steps, evals } = readLog(join(out, "run", "metrics.jsonl"));
    expect(steps.map((s) => s.step)).toEqual([1, 2]);
    for (const s of steps) expect(Number.isFinite(s.loss) && s.loss > 0).toBe(true);
    expect(evals.map((e) => e.step)).toEqual([2]);
    expect(evals[0]!.AP).toBeGreaterThanOrEqual(0);
  }, 180_000);
});
