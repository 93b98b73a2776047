/**
 * `detc export FILE (--weights CKPT | --init FILE) --layout tutorial|torchvision -o OUT.pth|OUT.safetensors`:
 * a state dict that torchvision's model of the same configuration loads with strict=True. With
 * `--init`, a torchvision file in any layout comes back in the one asked for (a conversion).
 * With `--format web -o DIR`, a folder that runs the detector in a web page (export-web.ts).
 */
import type { Command } from "commander";
import { WEB_DTYPES, type WebDtype } from "../../web/model-json.js";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { UsageError } from "../io.js";
import { loadSpec } from "../spec.js";
import { ALLOW_PARTIAL_OPTION, checkWeightOptions, INIT_OPTION, LAYOUT_OPTION, parseLayout } from "../weights-options.js";
import { loadModel } from "./evaluate.js";

interface ExportOptions {
  weights?: string;
  init?: string;
  allowPartial?: boolean;
  layout: string;
  format: string;
  dtype?: string;
  output: string;
  detector?: string;
  backend: string;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .summary("write weights as a torchvision Faster R-CNN state dict (.pth or .safetensors), in the tutorial's or torchvision's layout")
    .description(
      "Write the detector's weights with torchvision's tensor layouts (OIHW convs, [out, in] linears) and " +
        "the state-dict keys of --layout: `tutorial` (default), the seed tutorial's model, whose body is " +
        "create_feature_extractor over the whole network (`backbone.body.features.6.…` with an FPN, " +
        "`backbone.features.42.…` without); `torchvision`, the stock builders' (`backbone.body.<i>.…` over a " +
        "`features` trunk, `backbone.body.layer1.…` for resnet). `detc emit torchvision --layout` builds " +
        "either model; `model.load_state_dict(torch.load(FILE))` accepts the file with strict=True.\n\n" +
        "The weights: a detc checkpoint (--weights), or a torchvision file in any layout (--init), so " +
        "export also converts a file from one layout to the other.\n\n" +
        "--format web writes a folder that runs the detector in a web page, offline: detector.js (an ES module, " +
        "`loadDetector()` then `detect(image)`), index.html (a demo page), the weights as TensorFlow.js's " +
        "model.json + .bin shards. Serve it with any static server (docs/web.md).",
    )
    .argument("<file>", "a .det spec")
    .option("--weights <checkpoint>", "a checkpoint written by `detc run`")
    .option(...INIT_OPTION)
    .option(...ALLOW_PARTIAL_OPTION)
    .option(...LAYOUT_OPTION)
    .option("--format <format>", "state-dict (a .pth/.pt/.safetensors file) or web (a folder for web pages)", "state-dict")
    .option("--dtype <dtype>", "with --format web: float32, or float16 to halve the download (every weight rounded to 11 significant bits; docs/web.md measures what that changes)")
    .requiredOption("-o, --output <path>", "model.pth, model.pt or model.safetensors; with --format web, a folder")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .addHelpText(
      "after",
      "\nExamples:\n  $ detc export examples/quickstart.det --weights runs/quickstart/checkpoint.safetensors -o quickstart.pth\n" +
        "  $ detc export examples/torchvision/fasterrcnn_resnet50_fpn.det --init tutorial_model.pth --layout torchvision -o stock.pth\n" +
        "  $ detc export examples/quickstart.det --weights runs/quickstart/checkpoint.safetensors --format web -o web/",
    )
    .action(async (file: string, options: ExportOptions, command: Command) => {
      checkWeightOptions(options, true);
      if (options.format !== "state-dict" && options.format !== "web") throw new UsageError(`--format ${options.format}: expected state-dict or web`);
      if (options.format === "web") return exportForWeb(file, options, command);
      if (options.dtype !== undefined) throw new UsageError("--dtype is for --format web; a state dict keeps float32");
      const layout = parseLayout(options.layout);
      const { spec, dir } = loadSpec(file, options.detector);
      await startEngine(options.backend, true);
      const { exportStateDict } = await import("../../weights/export-state-dict.js");
      const { writeStateDict } = await import("../../weights/state-dict.js");
      const model = await loadModel(spec, options.weights, { specDir: dir, init: options.init, allowPartial: options.allowPartial });
      try {
        const stateDict = await exportStateDict(model, layout);
        writeStateDict(options.output, stateDict);
        process.stdout.write(`wrote ${options.output}: ${stateDict.size} tensors, ${layout} layout\n`);
      } finally {
        model.dispose();
      }
    });
}

async function exportForWeb(file: string, options: ExportOptions, command: Command): Promise<void> {
  if (command.getOptionValueSource("layout") === "cli") throw new UsageError("--layout names state-dict keys; --format web keeps detc's own");
  const dtype = options.dtype ?? "float32";
  if (!(WEB_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--dtype ${dtype}: expected ${WEB_DTYPES.join(" or ")}`);
  const { spec, dir } = loadSpec(file, options.detector);
  const out = options.output.replace(/(.)\/+$/, "$1");
  const { exportWeb, prepareWebFolder } = await import("./export-web.js");
  const built = prepareWebFolder(out);
  await startEngine(options.backend, true);
  const model = await loadModel(spec, options.weights, { specDir: dir, init: options.init, allowPartial: options.allowPartial });
  try {
    process.stdout.write(await exportWeb(model, spec, out, built, dtype as WebDtype));
  } finally {
    model.dispose();
  }
}
