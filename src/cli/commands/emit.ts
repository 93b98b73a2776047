/** `detc emit torchvision FILE`: the checked detector as a torchvision Python module (and train.py). */
import { writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import type { Command } from "commander";
import type { DetectorSpec } from "../../check/detector-spec.js";
import { checkSource } from "../../check/index.js";
import { emitTorchvisionModule } from "../../emit/torchvision.js";
import { emitTrainScript } from "../../emit/train-script.js";
import { UsageError } from "../io.js";
import { loadSpec, readSpec } from "../spec.js";
import { LAYOUT_OPTION, parseLayout } from "../weights-options.js";
import { say } from "../output.js";

/** Spec paths are relative to the spec's folder; the generated code resolves them against its own. */
function relocatePaths(spec: DetectorSpec, specDir: string, outDir: string): DetectorSpec {
  const move = (path: string) => (isAbsolute(path) ? path : relative(outDir, resolve(specDir, path)) || ".");
  const dataset: DetectorSpec["dataset"] =
    spec.dataset.format === "coco"
      ? {
          ...spec.dataset,
          train: { annotations: move(spec.dataset.train.annotations), images: move(spec.dataset.train.images) },
          ...(spec.dataset.val && { val: { annotations: move(spec.dataset.val.annotations), images: move(spec.dataset.val.images) } }),
        }
      : spec.dataset.format === "voc"
        ? { ...spec.dataset, root: move(spec.dataset.root) }
        : spec.dataset;
  const backbone = spec.backbone.weights ? { ...spec.backbone, weights: move(spec.backbone.weights) } : spec.backbone;
  return { ...spec, backbone, dataset };
}

interface EmitOptions {
  output?: string;
  detector?: string;
  trainScript?: boolean;
  layout: string;
}

export function registerEmit(program: Command): void {
  const emit = program.command("emit").summary("generate code for another framework from a spec");
  emit
    .command("torchvision")
    .summary("write the detector as a torchvision Python module")
    .description(
      "Write the detector as a self-contained Python module with `create_model()`, built the way the " +
        "seed tutorial builds it by hand (create_feature_extractor, FeaturePyramidNetwork, AnchorGenerator, " +
        "MultiScaleRoIAlign, FasterRCNN), every inferred number written in.\n\nWith --train-script, also a " +
        "train.py next to it that trains it on the spec's dataset under torchrun as `detc run` would: the same batches, " +
        "flips and learning rates step for step, resumable, evaluated at each epoch's end.",
    )
    .argument("<file>", "a .det spec")
    .option("-o, --output <model.py>", "where to write the module (default: standard output)")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option("--train-script", "also write train.py next to the module (needs -o)")
    .option(...LAYOUT_OPTION)
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc emit torchvision examples/resnet50.det -o model.py\n" +
        "  $ detc emit torchvision coco.det -o out/model.py --train-script && torchrun --nproc_per_node=2 out/train.py",
    )
    .action((file: string, options: EmitOptions) => {
      const layout = parseLayout(options.layout);
      const { spec, dir } = loadSpec(file, options.detector);
      const detector = checkSource(readSpec(file)).detectors.find((d) => d.name === spec.name)!;
      const moduleName = options.output ? basename(options.output).replace(/\.py$/, "") : "model";
      if (options.trainScript && !/^[A-Za-z_]\w*$/.test(moduleName))
        throw new UsageError(`${options.output}: the module name \`${moduleName}\` is not a Python identifier, so train.py could not import it`);
      if (options.trainScript && !options.output) throw new UsageError("--train-script writes train.py next to the module: give -o");
      if (options.trainScript && moduleName === "train")
        throw new UsageError(`${options.output}: train.py would overwrite the module; name it otherwise (e.g. -o model.py)`);
      const outDir = options.output ? dirname(options.output) : ".";
      const relocated = { ...detector, spec: relocatePaths(spec, dir, outDir) };
      const module = emitTorchvisionModule(relocated, { source: file, moduleName, layout });
      if (!options.output) return void process.stdout.write(module);
      writeFileSync(options.output, module);
      const written = [options.output];
      if (options.trainScript) {
        const script = join(outDir, "train.py");
        writeFileSync(script, emitTrainScript(relocated.spec, moduleName));
        written.push(script);
      }
      say(`wrote ${written.join(" and ")}`);
    });
}
