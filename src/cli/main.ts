/** The `detc` command: a thin shell that parses arguments, calls the core, prints, and exits. */
import { Command, CommanderError } from "commander";
import { registerBackbones } from "./commands/backbones.js";
import { registerCheck } from "./commands/check.js";
import { registerDiagram } from "./commands/diagram.js";
import { registerDoctor } from "./commands/doctor.js";
import { registerEmit } from "./commands/emit.js";
import { registerEval } from "./commands/evaluate.js";
import { registerExport } from "./commands/export.js";
import { registerFmt } from "./commands/fmt.js";
import { registerForward } from "./commands/forward.js";
import { registerLsp } from "./commands/lsp.js";
import { registerPlot } from "./commands/plot.js";
import { registerPredict } from "./commands/predict.js";
import { registerRun } from "./commands/run.js";
import { registerSummary } from "./commands/summary.js";
import { registerTaps } from "./commands/taps.js";
import { UsageError } from "./io.js";
import { setQuiet } from "./output.js";
import { chooseColor } from "./style.js";
import { SpecError } from "./spec.js";
import { InputError } from "../util/input-error.js";
import { isWasmOutOfMemory, WASM_OUT_OF_MEMORY_HINT } from "../engine/engines.js";

const program = new Command("detc")
  .description(
    "A compiler for object-detector specs: check a .det file against the backbone's real layer graph,\n" +
      "list a backbone's tap points, and train, evaluate and run the detector in TensorFlow.js.",
  )
  .version("0.1.0")
  .option("--quiet", "print results only (errors and warnings still print)")
  .option("--verbose", "let TensorFlow's own log lines through too")
  .option("--color", "colour the output even off a terminal")
  .option("--no-color", "never colour the output (as NO_COLOR does)")
  .showHelpAfterError("(run with --help for usage)")
  .exitOverride()
  .hook("preAction", () => {
    const global = program.opts<{ quiet?: boolean; verbose?: boolean; color?: boolean }>();
    if (global.quiet && global.verbose) throw new UsageError("--quiet and --verbose exclude each other");
    setQuiet(global.quiet === true);
    chooseColor(global.color);
    // The engine reads this when it loads (src/engine/backend.ts): below 2 it keeps TensorFlow's lines.
    if (global.verbose) process.env.TF_CPP_MIN_LOG_LEVEL = "0";
  });

registerCheck(program);
registerTaps(program);
registerFmt(program);
registerLsp(program);
registerBackbones(program);
registerRun(program);
registerEval(program);
registerPredict(program);
registerDiagram(program);
registerPlot(program);
registerExport(program);
registerForward(program);
registerSummary(program);
registerDoctor(program);
registerEmit(program);

// `detc … | head` closes the pipe early: that ends the output, it is not an error.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  process.exit(0);
});

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof UsageError) {
    process.stderr.write(`detc: ${error.message}\n`);
    process.exitCode = 2;
  } else if (error instanceof SpecError || error instanceof InputError) {
    process.stderr.write(`detc: ${error.message}\n`);
    process.exitCode = 1;
  } else if (isWasmOutOfMemory(error)) {
    process.stderr.write(`detc: ${WASM_OUT_OF_MEMORY_HINT}\n`);
    process.exitCode = 1;
  } else {
    throw error;
  }
}
