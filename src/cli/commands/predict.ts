/** `detc predict FILE --weights CKPT IMAGE…`: detections as JSON, optionally drawn on the images. */
import { mkdirSync } from "node:fs";
import { basename, extname, join } from "node:path";
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { numberOption, requireFile, UsageError, writeJson } from "../io.js";
import { loadSpec } from "../spec.js";
import { loadModel } from "./evaluate.js";
import { ALLOW_PARTIAL_OPTION } from "../weights-options.js";

interface PredictOptions {
  weights?: string;
  init?: string;
  allowPartial?: boolean;
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
    .description("Run the detector on each image, turned upright by its EXIF orientation and with transparency on white; print the boxes (x1, y1, x2, y2 in the upright image's pixels), labels and scores.")
    .argument("<file>", "a .det spec")
    .argument("<images...>", "JPEG or PNG files")
    .option("--weights <checkpoint>", "a checkpoint written by `detc run`")
    .option("--init <file>", "instead of --weights: a torchvision Faster R-CNN state dict (.pth or .safetensors)")
    .option(...ALLOW_PARTIAL_OPTION)
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
      const { decodePhoto, writeDetectionsPng } = await import("../../data/images.js");
      const model = await loadModel(spec, options.weights, { specDir: dir, init: options.init, allowPartial: options.allowPartial });
      const { detect } = await import("../../detection/detect.js");
      const results = [];
      try {
        for (const path of images) {
          const image = await decodePhoto(path);
          const detections = await detect(model, image, { minScore });
          results.push({ image: path, detections });
          if (options.draw) {
            mkdirSync(options.draw, { recursive: true });
            const labelled = detections.map((d) => ({ box: d.box, label: d.label, text: `${d.class} ${d.score.toFixed(2)}` }));
            await writeDetectionsPng(image, labelled, join(options.draw, `${basename(path, extname(path))}.png`));
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
