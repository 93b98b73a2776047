/** Choosing the engine for a runtime command, and saying which one it took. */
import type { BackendSelection } from "../engine/backend.js";
import { ENGINE_CHOICES, isEngineChoice } from "../engine/engines.js";
import { UsageError } from "./io.js";
import { isQuiet } from "./output.js";

/** The commands that start an engine (with `startEngine`, or `detc doctor`); a test keeps the list whole. */
export const ENGINE_COMMANDS: ReadonlySet<string> = new Set(["run", "eval", "predict", "export", "forward", "summary", "doctor"]);

export const BACKEND_OPTION = ["--backend <engine>", `engine: ${ENGINE_CHOICES.join(", ")}`, "auto"] as const;

/** Loads TensorFlow.js and the engine only now, so commands that need neither start fast. */
export async function startEngine(choice: string, quiet: boolean): Promise<BackendSelection> {
  if (!isEngineChoice(choice)) throw new UsageError(`--backend takes ${ENGINE_CHOICES.join(", ")}, not "${choice}"`);
  const { EngineUnavailableError, selectBackend } = await import("../engine/backend.js");
  let selection: BackendSelection;
  try {
    selection = await selectBackend(choice);
  } catch (error) {
    if (error instanceof EngineUnavailableError) throw new UsageError(error.message);
    throw error;
  }
  if (!quiet && !isQuiet()) {
    const active = selection.attempts.find((a) => a.outcome === "active");
    process.stderr.write(`engine: ${selection.engine}${active ? ` (${active.detail})` : ""}\n`);
  }
  return selection;
}
