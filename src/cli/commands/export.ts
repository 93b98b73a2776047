/** `detc export FILE --weights CKPT -o model.pth|model.safetensors`: a state dict torchvision loads. */
import type { Command } from "commander";
import { BACKEND_OPTION, startEngine } from "../engine.js";
import { loadSpec } from "../spec.js";
import { loadModel } from "./evaluate.js";

interface ExportOptions {
  weights: string;
  output: string;
  detector?: string;
  backend: string;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .summary("write a checkpoint as a torchvision Faster R-CNN state dict (.pth or .safetensors)")
    .description(
      "Write the checkpoint's variables with torchvision's state-dict keys and layouts (OIHW convs, " +
        "[out, in] linears), as a torch.save file (.pth/.pt) or safetensors, for " +
        "`model.load_state_dict(torch.load(FILE))` on the torchvision model of the same configuration.",
    )
    .argument("<file>", "a .det spec")
    .requiredOption("--weights <checkpoint>", "a checkpoint written by `detc run`")
    .requiredOption("-o, --output <file>", "model.pth, model.pt or model.safetensors")
    .option("--detector <name>", "which detector of the file (when it has several)")
    .option(...BACKEND_OPTION)
    .addHelpText("after", "\nExamples:\n  $ detc export examples/quickstart.det --weights runs/quickstart/checkpoint.safetensors -o quickstart.pth")
    .action(async (file: string, options: ExportOptions) => {
      const { spec } = loadSpec(file, options.detector);
      await startEngine(options.backend, true);
      const { exportStateDict } = await import("../../weights/export-state-dict.js");
      const { writeStateDict } = await import("../../weights/state-dict.js");
      const model = await loadModel(spec, options.weights);
      try {
        const stateDict = await exportStateDict(model);
        writeStateDict(options.output, stateDict);
        process.stdout.write(`wrote ${options.output}: ${stateDict.size} tensors\n`);
      } finally {
        model.dispose();
      }
    });
}
