/**
 * `detc export --format web` in a real browser: headless Chromium opens the exported folder from a
 * local server, runs `detect` on test images, and must find what `detc predict --json` finds with
 * the same checkpoint (same labels, boxes within 1 px, scores within 1e-3); the demo page loads
 * without errors and requests nothing outside its folder (every other host fails to resolve).
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { Browser, CHROMIUM, hasChromium, type Page } from "../support/chromium.js";
import { PHOTO_HEIGHT, PHOTO_WIDTH, rawImage, taggedPhoto, uprightPixels } from "../support/photos.js";
import { serveFolders, type StaticServer } from "../support/static-server.js";
import { tinyDetectorSource } from "../support/tiny-detector.js";

const root = new URL("../..", import.meta.url).pathname;
const cli = inject("cli");

/** The CLI, asynchronously, so that independent commands run side by side. */
function detc(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

interface Found {
  box: number[];
  label: number;
  class: string;
  score: number;
}

const IMAGES = ["red.png", "blue.png", "green.jpg", "sideways.png", "translucent.png"];

/** The fixtures' photos, one stored sideways with an EXIF tag, and one with partly transparent pixels. */
async function writeImages(dir: string): Promise<void> {
  for (const name of IMAGES.slice(0, 3)) copyFileSync(join(root, "test/fixtures/data/coco/images", name), join(dir, name));
  await taggedPhoto(join(dir, "sideways.png"), 6);
  const pixels = await uprightPixels();
  // The left half opaque, the right half half-transparent: composited on white by both.
  const alpha = Buffer.from(Array.from({ length: PHOTO_WIDTH * PHOTO_HEIGHT }, (_, i) => (i % PHOTO_WIDTH < PHOTO_WIDTH / 2 ? 255 : 128)));
  await rawImage(pixels, PHOTO_WIDTH, PHOTO_HEIGHT).joinChannel(alpha, { raw: { width: PHOTO_WIDTH, height: PHOTO_HEIGHT, channels: 1 } }).png().toFile(join(dir, "translucent.png"));
}

if (!hasChromium()) {
  it.skip(`SKIPPED: the browser tests need Debian's chromium at ${CHROMIUM} (apt-get install -y chromium)`, () => undefined);
} else {
  describe("the web export in headless Chromium", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-web-"));
    const [images, exported] = [join(dir, "images"), join(dir, "web")];
    let expected: { image: string; detections: Found[] }[];
    let server: StaticServer;
    let browser: Browser;

    beforeAll(async () => {
      const spec = join(dir, "tiny.det");
      writeFileSync(spec, tinyDetectorSource({ train: "batch_size 2 lr 0.01 frozen_batch_norm false" }));
      mkdirSync(images);
      await writeImages(images);
      const trained = await detc("run", spec, "--out", join(dir, "run"), "--max-steps", "2", "--quiet");
      expect(trained.code, trained.stderr).toBe(0);
      const weights = join(dir, "run", "checkpoint.safetensors");
      const [predicted, written] = await Promise.all([
        detc("predict", spec, "--weights", weights, ...IMAGES.map((name) => join(images, name)), "--min-score", "0", "--json"),
        detc("export", spec, "--weights", weights, "--format", "web", "-o", exported),
      ]);
      expect(predicted.code, predicted.stderr).toBe(0);
      expect(written.code, written.stderr).toBe(0);
      expect(written.stdout).toMatch(/^wrote .*web\/: detector\.js .*float32 in 1 shard/);
      expected = JSON.parse(predicted.stdout) as typeof expected;
      server = await serveFolders({ "/det/": exported, "/images/": images });
      // Every host but the test server's fails to resolve, so an outside request shows as a failure.
      browser = Browser.launch(["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]);
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await server?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    /** The demo page once its own detector has loaded (or failed to); returns its status line. */
    async function openDemo(): Promise<{ page: Page; status: string }> {
      const page = await browser.newPage();
      await page.navigate(`${server.origin}/det/index.html`);
      const status = await page.evaluate<string>(`new Promise((resolve) => {
        const status = document.getElementById("status");
        const settled = () => (status.dataset.ready || status.className === "error" ? resolve(status.textContent) : setTimeout(settled, 50));
        settled();
      })`);
      return { page, status };
    }

    it("the demo page loads the detector without errors and requests only files of its folder", async () => {
      const { page, status } = await openDemo();
      expect(status).toMatch(/^tiny ready · backend (webgl|wasm|cpu) · classes: circle, square, triangle, cross$/);
      expect(page.log.errors).toEqual([]);
      const outside = page.log.requests.filter((url) => !url.startsWith(`${server.origin}/det/`) && !url.startsWith("data:"));
      expect(outside).toEqual([]);
      expect(page.log.requests).toContain(`${server.origin}/det/model.json`);
    });

    it("detect() in the page finds what `detc predict --json` finds on the same checkpoint", async () => {
      const { page } = await openDemo();
      const found = await page.evaluate<{ backend: string; results: Found[][] }>(`(async () => {
        const { loadDetector } = await import("./detector.js");
        const detector = await loadDetector({ backend: "wasm" });
        const results = [];
        for (const name of ${JSON.stringify(IMAGES)}) {
          const image = new Image();
          image.src = "/images/" + name;
          await image.decode();
          results.push(await detector.detect(image, { minScore: 0 }));
        }
        detector.dispose();
        return { backend: detector.backend, results };
      })()`);
      expect(found.backend).toBe("wasm");
      expect(page.log.errors).toEqual([]);
      found.results.forEach((detections, i) => {
        const want = expected[i]!.detections;
        expect(want.length, IMAGES[i]).toBeGreaterThan(0);
        expect(detections.map((d) => [d.label, d.class]), IMAGES[i]).toEqual(want.map((d) => [d.label, d.class]));
        detections.forEach((d, j) => {
          expect(Math.max(...d.box.map((v, k) => Math.abs(v - want[j]!.box[k]!))), `${IMAGES[i]} box ${j}`).toBeLessThanOrEqual(1);
          expect(Math.abs(d.score - want[j]!.score), `${IMAGES[i]} score ${j}`).toBeLessThanOrEqual(1e-3);
        });
      });
    });
  });
}
