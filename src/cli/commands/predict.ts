/** `detc predict FILE --weights CKPT IMAGE…`: detections as JSON, optionally drawn on the images. */
import { mkdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { numberOption, requireFile, UsageError, writeJson } from "../io.js";
import { loadSpec } from "../spec.js";
import { loadModel } from "./evaluate.js";

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#008080", "#9a6324"];

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The image with each box outlined in its class's colour and labelled with class and score (SVG overlay via sharp). */
async function drawDetections(
  image: { width: number; height: number; data: Uint8Array },
  detections: readonly { box: readonly number[]; label: number; text: string }[],
  path: string,
): Promise<void> {
  const { default: sharp } = await import("sharp");
  const font = Math.max(10, Math.round(Math.min(image.width, image.height) / 40));
  const shapes = detections.map(({ box: [x1, y1, x2, y2], label, text }) => {
    const colour = PALETTE[(label - 1) % PALETTE.length];
    const top = Math.max(0, y1! - font - 4);
    return (
      `<rect x="${x1}" y="${y1}" width="${x2! - x1!}" height="${y2! - y1!}" fill="none" stroke="${colour}" stroke-width="2"/>` +
      `<rect x="${x1}" y="${top}" width="${(text.length * font * 0.6 + 6).toFixed(0)}" height="${font + 4}" fill="${colour}"/>` +
      `<text x="${x1! + 3}" y="${top + font}" font-family="sans-serif" font-size="${font}" fill="white">${escapeXml(text)}</text>`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${shapes.join("")}</svg>`;
  await sharp(Buffer.from(image.data), { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg) }])
    .png()
    .toFile(path);
}

interface PredictOptions {
  weights?: string;
  init?: string;
  draw?: string;
  detector?: string;
  backend: string;
  json?: boolean;
  minScore: string;
}

export function registerPredict(program: Command): void {
  program
    .command("predict")
    .summary("detect objects in images with a trained checkpoint")
    .description("Run the detector on each image; print the boxes (x1, y1, x2, y2 in the image's pixels), labels and scores.")
    .argument("<file>", "a .det spec")
    .argument("<images...>", "JPEG or PNG files")
    .option("--weights <checkpoint>", "a checkpoint written by `detc run`")
    .option("--init <file>", "instead of --weights: a torchvision Faster R-CNN state dict (.pth or .safetensors)")
    .option("--draw <dir>", "also write each image with its boxes, labels and scores drawn")
    .option("--min-score <score>", "hide detections below this score", "0.5")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .option("--json", "JSON output: [{image, detections:[{box, label, class, score}]}]")
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc predict examples/quickstart.det --weights runs/quickstart/checkpoint.safetensors img.png --draw out/",
    )
    .action(async (file: string, images: string[], options: PredictOptions) => {
      if ((options.weights === undefined) === (options.init === undefined)) throw new UsageError("give one of --weights or --init");
      const minScore = numberOption(options.minScore, "--min-score", "a number from 0 to 1", (n) => n >= 0 && n <= 1);
      requireFile(options.weights ?? options.init!, options.weights ? "--weights" : "--init");
      for (const image of images) requireFile(image, "image");
      const { spec, dir } = loadSpec(file, options.detector);
      await startEngine(options.backend, options.json === true);
      const { decodeImageFile } = await import("../../data/images.js");
      const model = await loadModel(spec, options.weights, { specDir: dir, init: options.init });
      const className = (label: number) => spec.classes.names?.[label - 1] ?? `class ${label}`;
      const results = [];
      try {
        for (const path of images) {
          const image = await decodeImageFile(path);
          const [detection] = await model.predict([image]);
          const kept = detection!.scores.map((score, i) => ({ box: detection!.boxes[i]!, label: detection!.labels[i]!, score })).filter((d) => d.score >= minScore);
          results.push({ image: path, detections: kept.map((d) => ({ ...d, class: className(d.label) })) });
          if (options.draw) {
            mkdirSync(options.draw, { recursive: true });
            const labelled = kept.map((d) => ({ box: d.box, label: d.label, text: `${className(d.label)} ${d.score.toFixed(2)}` }));
            await drawDetections(image, labelled, join(options.draw, `${basename(path, extname(path))}.png`));
          }
        }
      } finally {
        model.dispose();
      }
      if (options.json) return writeJson(results);
      for (const r of results) {
        process.stdout.write(`${r.image}: ${r.detections.length} detection${r.detections.length === 1 ? "" : "s"}\n`);
        for (const d of r.detections)
          process.stdout.write(`  ${d.class.padEnd(12)} ${d.score.toFixed(3)}  [${d.box.map((v) => v.toFixed(1)).join(", ")}]\n`);
      }
    });
}
