/**
 * The SVG diagrams as a browser draws them: headless Chromium (Debian's `chromium`) screenshots the
 * SVG files at their own size, and each screenshot must look like the PNG detc rasterises with
 * librsvg — the same size, about as much ink, and the same picture pixel for pixel up to font
 * rendering. A diagram a browser drew blank, clipped, scaled or shifted fails.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { diagramGraph, renderDiagram } from "../src/diagram/index.js";

const CHROMIUM = "/usr/lib/chromium/chromium";
const root = new URL("..", import.meta.url).pathname;
const EXAMPLES = ["mobilenet_v3_large_fpn", "resnet50"];

interface Drawing {
  readonly width: number;
  readonly height: number;
  /** RGB, on white. */
  readonly pixels: Buffer;
}

const svgSize = (svg: string) => {
  const [, width, height] = svg.match(/<svg[^>]* width="(\d+)" height="(\d+)"/) ?? [];
  return { width: Number(width), height: Number(height) };
};

/** The SVGs side by side in one page, so one browser start draws them all. */
function screenshot(svgFiles: readonly string[], sizes: readonly { width: number; height: number }[], dir: string): Promise<Drawing> {
  const width = sizes.reduce((sum, s) => sum + s.width, 0);
  const height = Math.max(...sizes.map((s) => s.height));
  const images = svgFiles.map((file, i) => `<img src="${file}" width="${sizes[i]!.width}" height="${sizes[i]!.height}">`).join("");
  const page = join(dir, "page.html");
  writeFileSync(page, `<!doctype html><body style="margin:0;background:#fff;display:flex;align-items:flex-start">${images}</body>`);
  const shot = join(dir, "chromium.png");
  const run = spawnSync(
    CHROMIUM,
    ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--hide-scrollbars", `--screenshot=${shot}`, `--window-size=${width},${height}`, `file://${page}`],
    { timeout: 90_000 },
  );
  expect(run.status, run.stderr?.toString()).toBe(0);
  return sharp(shot)
    .flatten({ background: "#ffffff" })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
    .then(({ data, info }) => ({ width: info.width, height: info.height, pixels: data }));
}

async function region(drawing: Drawing, left: number, width: number, height: number): Promise<Buffer> {
  return sharp(drawing.pixels, { raw: { width: drawing.width, height: drawing.height, channels: 3 } })
    .extract({ left, top: 0, width, height })
    .raw()
    .toBuffer();
}

const meanAbsoluteDifference = (a: Buffer, b: Buffer) => a.reduce((sum, value, i) => sum + Math.abs(value - b[i]!), 0) / a.length;

/** The share of pixels darker than light grey: how much was drawn. */
function ink(rgb: Buffer): number {
  let dark = 0;
  for (let i = 0; i < rgb.length; i += 3) if (rgb[i]! + rgb[i + 1]! + rgb[i + 2]! < 600) dark++;
  return dark / (rgb.length / 3);
}

const shrink = (rgb: Buffer, width: number, height: number) =>
  sharp(rgb, { raw: { width, height, channels: 3 } })
    .resize(Math.round(width / 10), Math.round(height / 10))
    .raw()
    .toBuffer();

describe.skipIf(!existsSync(CHROMIUM))(`diagrams in Chromium (skipped: ${CHROMIUM} is absent; apt-get install chromium)`, () => {
  it("draw the stage views of the examples as detc's PNG shows them", { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-browser-"));
    const drawings = await Promise.all(
      EXAMPLES.map(async (name) => {
        const result = checkSource(readFileSync(join(root, "examples", `${name}.det`), "utf8"));
        const graph = diagramGraph(result.analyses[0]!, result.diagnostics, "stages");
        const svg = (await renderDiagram(graph, "svg")) as string;
        writeFileSync(join(dir, `${name}.svg`), svg);
        return { name, svg, size: svgSize(svg), png: (await renderDiagram(graph, "png")) as Buffer };
      }),
    );
    const browser = await screenshot(
      drawings.map((d) => `${d.name}.svg`),
      drawings.map((d) => d.size),
      dir,
    );
    let left = 0;
    for (const { name, size, png } of drawings) {
      const { width, height } = size;
      const seen = await region(browser, left, width, height);
      left += width;
      const ours = await sharp(png).flatten({ background: "#ffffff" }).resize(width, height).removeAlpha().raw().toBuffer();
      expect(ink(seen), `${name}: Chromium drew something`).toBeGreaterThan(0.02);
      expect(ink(seen) / ink(ours), `${name}: as much ink as librsvg`).toBeGreaterThan(0.8);
      expect(ink(seen) / ink(ours), `${name}: as much ink as librsvg`).toBeLessThan(1.25);
      // Measured 1.6 (text antialiasing) and 0.5 at a tenth of the size for the FPN example.
      expect(meanAbsoluteDifference(seen, ours), `${name}: pixel for pixel`).toBeLessThan(6);
      expect(meanAbsoluteDifference(await shrink(seen, width, height), await shrink(ours, width, height)), `${name}: at a tenth`).toBeLessThan(2);
    }
  });
});
