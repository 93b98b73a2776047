/** `detc forward FILE --image IMG --out DIR`: the transform, backbone, FPN and RPN head's outputs as .npy. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { loadSpec } from "../spec.js";
import { ALLOW_PARTIAL_OPTION, checkWeightOptions, INIT_OPTION } from "../weights-options.js";
import { loadModel } from "./evaluate.js";

interface ForwardOptions {
  weights?: string;
  init?: string;
  allowPartial?: boolean;
  image: string;
  out: string;
  detector?: string;
  backend: string;
}

export function registerForward(program: Command): void {
  program
    .command("forward")
    .summary("write one image's feature maps and RPN outputs as .npy, to compare with torchvision")
    .description(
      "Run the transform, backbone, FPN and RPN head on one image and write each map as float32 NCHW " +
        ".npy: input.npy, body.<tap>.npy, fpn.<level>.npy, rpn.objectness.<level>.npy and " +
        "rpn.bbox_deltas.<level>.npy, levels named as torchvision names them (0, 1, …, pool). " +
        "Weights: a checkpoint (--weights), or the spec's backbone weights and --init's detector weights.",
    )
    .argument("<file>", "a .det spec")
    .requiredOption("--image <file>", "a JPEG or PNG")
    .requiredOption("--out <dir>", "folder for the .npy files")
    .option("--weights <checkpoint>", "a checkpoint written by `detc run`")
    .option(...INIT_OPTION)
    .option(...ALLOW_PARTIAL_OPTION)
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .addHelpText("after", "\nExamples:\n  $ detc forward my.det --init fasterrcnn.pth --image img.png --out features/")
    .action(async (file: string, options: ForwardOptions) => {
      checkWeightOptions(options);
      const { spec, dir } = loadSpec(file, options.detector);
      await startEngine(options.backend, true);
      const { decodeImageFile } = await import("../../data/images.js");
      const { forwardFeatures } = await import("../../weights/forward-features.js");
      const { encodeNpy } = await import("../../weights/npy.js");
      const image = await decodeImageFile(options.image);
      const model = await loadModel(spec, options.weights, { specDir: dir, init: options.init, allowPartial: options.allowPartial });
      try {
        const maps = forwardFeatures(model, image);
        mkdirSync(options.out, { recursive: true });
        for (const [name, map] of Object.entries(maps)) {
          writeFileSync(join(options.out, `${name}.npy`), encodeNpy(Float32Array.from(await map.data<"float32">()), map.shape));
          process.stdout.write(`${name}.npy [${map.shape.join(", ")}]\n`);
          map.dispose();
        }
      } finally {
        model.dispose();
      }
    });
}
