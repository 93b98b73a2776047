/**
 * `tsx bench/web.ts [CHECKPOINT] [--screenshot FILE]`: the web export of the quick-start detector in
 * headless Chromium, the numbers docs/web.md reports: download size, milliseconds per image on each
 * TensorFlow.js backend that runs there, and what `--dtype float16` changes in the detections
 * (against float32, same backend, same images: 16 synthetic validation images). Needs `npm run
 * build`, Debian's chromium, and a trained checkpoint (default runs/quickstart/checkpoint.safetensors,
 * from `detc run examples/quickstart.det`).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { writePng } from "../src/data/images.js";
import { syntheticDataset } from "../src/data/synthetic.js";
import { Browser, hasChromium, type Page } from "../test/support/chromium.js";
import { serveFolders } from "../test/support/static-server.js";

const root = new URL("..", import.meta.url).pathname;
const args = process.argv.slice(2);
const screenshotAt = args.indexOf("--screenshot");
const screenshot = screenshotAt >= 0 ? args[screenshotAt + 1] : undefined;
const checkpoint = args.find((arg, i) => !arg.startsWith("--") && i !== screenshotAt + 1) ?? join(root, "runs/quickstart/checkpoint.safetensors");
const IMAGES = 16;

interface Found {
  box: number[];
  label: number;
  score: number;
}

function detc(...command: string[]): string {
  const result = spawnSync(process.execPath, [join(root, "dist/detc.js"), ...command], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`detc ${command.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** Loads a detector in the page on `backend`, runs every image once to warm up, then times a second pass. */
function runIn(page: Page, folder: string, backend: string, names: readonly string[]) {
  return page.evaluate<{ backend: string; loadMs: number; ms: number[]; results: Found[][] }>(`(async () => {
    const { loadDetector } = await import("/${folder}/detector.js");
    let start = performance.now();
    const detector = await loadDetector({ backend: "${backend}" });
    const loadMs = performance.now() - start;
    const images = [];
    for (const name of ${JSON.stringify(names)}) {
      const image = new Image();
      image.src = "/images/" + name;
      await image.decode();
      images.push(image);
    }
    await detector.detect(images[0], { minScore: 0.5 });
    const ms = [], results = [];
    for (const image of images) {
      start = performance.now();
      results.push(await detector.detect(image, { minScore: 0.5 }));
      ms.push(performance.now() - start);
    }
    detector.dispose();
    return { backend: detector.backend, loadMs, ms, results };
  })()`);
}

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** How far float16's detections are from float32's: matched by rank, as long as both agree on labels. */
function compare(reference: Found[][], other: Found[][]): string {
  let [boxes, scores, sameLabels, sameCounts, total] = [0, 0, 0, 0, 0];
  reference.forEach((want, i) => {
    const got = other[i] ?? [];
    if (got.length === want.length) sameCounts++;
    want.forEach((w, j) => {
      const g = got[j];
      total++;
      if (!g || g.label !== w.label) return;
      sameLabels++;
      boxes = Math.max(boxes, ...g.box.map((v, k) => Math.abs(v - (w.box[k] ?? 0))));
      scores = Math.max(scores, Math.abs(g.score - w.score));
    });
  });
  return `${sameCounts}/${reference.length} images with the same number of detections, ${sameLabels}/${total} detections with the same label at the same rank; largest change: box ${boxes.toFixed(3)} px, score ${scores.toExponential(1)}`;
}

async function showDemo(page: Page, image: string, file: string): Promise<void> {
  const { root: documentNode } = (await page.send("DOM.getDocument")) as { root: { nodeId: number } };
  const { nodeId } = (await page.send("DOM.querySelector", { nodeId: documentNode.nodeId, selector: "#file" })) as { nodeId: number };
  await page.send("DOM.setFileInputFiles", { nodeId, files: [image] });
  await page.evaluate(`new Promise((resolve) => { const done = () => document.getElementById("status").textContent.includes("ms for this image") ? resolve() : setTimeout(done, 50); done(); })`);
  await page.send("Emulation.setDeviceMetricsOverride", { width: 900, height: 720, deviceScaleFactor: 1, mobile: false });
  const { data } = (await page.send("Page.captureScreenshot", { format: "png" })) as { data: string };
  writeFileSync(file, Buffer.from(data, "base64"));
}

async function main(): Promise<void> {
  if (!hasChromium()) throw new Error("needs Debian's chromium (apt-get install -y chromium)");
  if (!existsSync(checkpoint)) throw new Error(`no checkpoint at ${checkpoint}: run \`detc run examples/quickstart.det\` first, or name one`);
  const dir = mkdtempSync(join(tmpdir(), "detc-bench-web-"));
  const images = join(dir, "images");
  mkdirSync(images);
  const names: string[] = [];
  for (const sample of syntheticDataset("val").samples.slice(0, IMAGES)) {
    names.push(`${sample.id}.png`);
    await writePng(await sample.loadImage(), join(images, `${sample.id}.png`));
  }
  const spec = join(root, "examples/quickstart.det");
  for (const dtype of ["float32", "float16"]) detc("export", spec, "--weights", checkpoint, "--format", "web", "--dtype", dtype, "-o", join(dir, dtype));
  const sizeOf = (folder: string, match: (file: string) => boolean) =>
    readdirSync(folder).filter(match).reduce((sum, file) => sum + statSync(join(folder, file)).size, 0);
  const f32 = join(dir, "float32");
  const script = readFileSync(join(f32, "detector.js"));
  console.log(`detector.js ${mb(script.length)} (${mb(gzipSync(script).length)} gzipped); index.html ${mb(sizeOf(f32, (f) => f === "index.html"))}`);
  for (const dtype of ["float32", "float16"]) console.log(`weights ${dtype}: ${mb(sizeOf(join(dir, dtype), (f) => f.endsWith(".bin")) + sizeOf(join(dir, dtype), (f) => f === "model.json"))}`);
  console.log(`wasm backend (only when used): ${mb(sizeOf(f32, (f) => f === "tfjs-backend-wasm-simd.wasm"))} (SIMD build)`);

  const server = await serveFolders({ "/float32/": f32, "/float16/": join(dir, "float16"), "/images/": images });
  const browser = Browser.launch(["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]);
  try {
    const page = await browser.newPage();
    await page.navigate(`${server.origin}/float32/index.html`);
    const status = await page.evaluate<string>(`new Promise((resolve) => { const s = document.getElementById("status"); const done = () => s.dataset.ready || s.className === "error" ? resolve(s.textContent) : setTimeout(done, 50); done(); })`);
    console.log(`demo page: ${status}`);
    if (screenshot) await showDemo(page, join(images, names[1] ?? ""), screenshot);
    const reference = new Map<string, Found[][]>();
    for (const backend of ["wasm", "webgl", "cpu"]) {
      const run = await runIn(page, "float32", backend, backend === "cpu" ? names.slice(0, 4) : names);
      reference.set(backend, run.results);
      console.log(`${run.backend}: ${median(run.ms).toFixed(0)} ms per image (median of ${run.ms.length}, after one warm-up), load ${run.loadMs.toFixed(0)} ms`);
    }
    const half = await runIn(page, "float16", "wasm", names);
    console.log(`float16 vs float32 (wasm): ${compare(reference.get("wasm") ?? [], half.results)}`);
    console.log(`page errors: ${page.log.errors.length === 0 ? "none" : page.log.errors.join("; ")}`);
  } finally {
    await browser.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
