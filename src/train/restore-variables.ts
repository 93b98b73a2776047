/**
 * Copying saved tensors into a model's variables, refusing tensors saved for another model. Pure
 * (no file system), so a checkpoint read from disk and a web page's downloaded weights both come here.
 */
import * as tf from "@tensorflow/tfjs";
import { moveIntoEngine, releaseValues } from "../engine/move-into-engine.js";
import { InputError } from "../util/input-error.js";
import type { NamedTensor } from "../weights/safetensors.js";

export class CheckpointError extends InputError {}

/**
 * Copies saved tensors (named `path` in messages) into the model's variables, refusing one made for another model:
 * every variable must be present with its shape. `dropped` hears of the bytes that became garbage
 * (the values replaced, each saved tensor's once copied): Node's callers collect as they go.
 */
export function restoreVariables(
  path: string,
  into: ReadonlyMap<string, tf.Variable>,
  from: ReadonlyMap<string, NamedTensor>,
  dropped: (bytes: number) => void = () => {},
): void {
  const problems: string[] = [];
  for (const [name, variable] of into) {
    const saved = from.get(name);
    if (!saved) problems.push(`missing ${name}`);
    else if (saved.shape.join() !== variable.shape.join())
      problems.push(`${name}: checkpoint [${saved.shape}] vs model [${variable.shape}]`);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join("; ");
    throw new CheckpointError(`${path} does not fit this model (${problems.length} problems): ${shown}${problems.length > 5 ? "; …" : ""}`);
  }
  // As loading a weights file does (`weights/load-weights.ts`): the values replaced go first, and
  // the largest tensor is read while the engine holds the least.
  releaseValues(into.values());
  dropped([...into.values()].reduce((bytes, variable) => bytes + variable.size * 4, 0));
  for (const [name, variable] of [...into].sort(([, a], [, b]) => b.size - a.size)) {
    const saved = from.get(name)!;
    tf.tidy(() => {
      variable.assign(tf.tensor(saved.data as Float32Array | Int32Array, saved.shape as number[], variable.dtype));
      moveIntoEngine(variable);
    });
    dropped(variable.size * 4);
  }
}
