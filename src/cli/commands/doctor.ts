/** `detc doctor`: which engine is active, why the faster ones are not, and how to get them. */
import type { Command } from "commander";
import { writeJson } from "../io.js";

export function registerDoctor(program: Command): void {
  program
    .command("doctor")
    .summary("show which TensorFlow.js engine is active and how to get a faster one")
    .description(
      "Load the engines in order of speed (tensorflow-gpu, tensorflow, wasm, cpu), report which one is " +
        "active, why each faster one is not, and the exact steps to get it (GPU included).",
    )
    .option("--json", 'machine-readable output: {"engine": "tensorflow-gpu"|"tensorflow"|"wasm"|"cpu", …}')
    .addHelpText("after", "\nExamples:\n  $ detc doctor\n  $ detc doctor --json | jq -r .engine")
    .action(async (options: { json?: boolean }) => {
      const { collectEngineFacts, doctorReport, renderDoctorReport } = await import("../../engine/doctor.js");
      const report = doctorReport(await collectEngineFacts());
      if (options.json) return writeJson(report);
      process.stdout.write(renderDoctorReport(report) + "\n");
    });
}
