/**
 * Checkpoints that survive a kill or a full disk: the model's variables, the optimizer's momentum
 * buffers, the step and the samplers' random state, in one safetensors file written atomically
 * (`writeFileAtomically`), so a reader only ever sees a complete file. Variables keep their
 * torchvision state-dict names; tensors are stored in TensorFlow.js layouts (conv HWIO, linear [in, out]).
 */
import { CheckpointError } from "./restore-variables.js";
import { writeFileAtomically } from "../util/durable-file.js";
import { fileSource, type ByteSource } from "../weights/byte-source.js";
import * as tf from "@tensorflow/tfjs";
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type NamedTensor } from "../weights/safetensors.js";

const MOMENTUM_PREFIX = "optimizer.momentum.";

export interface CheckpointState {
  readonly step: number;
  readonly epoch: number;
  /** The spec's detector name and a hash of its checked form: a checkpoint fits one model. */
  readonly detector: string;
  readonly specHash: string;
  /** The samplers' random state before the next step, so a resumed run draws what an uninterrupted one would. */
  readonly samplerState: number;
}

async function named(tensors: ReadonlyMap<string, tf.Tensor>, prefix = ""): Promise<[string, NamedTensor][]> {
  const out: [string, NamedTensor][] = [];
  for (const [name, tensor] of tensors) {
    const data = await tensor.data();
    out.push([
      prefix + name,
      tensor.dtype === "int32"
        ? { dtype: "I32", shape: tensor.shape, data: Int32Array.from(data as Int32Array) }
        : { dtype: "F32", shape: tensor.shape, data: Float32Array.from(data as Float32Array) },
    ]);
  }
  return out;
}

/**
 * Version of the tensor layouts a checkpoint holds (`lowering/layouts.ts`). 2: the box head's fc6
 * rows in H·W·C order; version 1 files (no `layout` entry) had them in C·H·W order, same shape.
 */
const CHECKPOINT_LAYOUT = "2";

export async function saveCheckpoint(
  path: string,
  variables: ReadonlyMap<string, tf.Variable>,
  momentum: ReadonlyMap<string, tf.Variable>,
  state: CheckpointState,
): Promise<void> {
  const tensors = new Map([...(await named(variables)), ...(await named(momentum, MOMENTUM_PREFIX))]);
  const bytes = encodeSafetensors(tensors, { format: "detc-checkpoint", layout: CHECKPOINT_LAYOUT, state: JSON.stringify(state) });
  writeFileAtomically(path, bytes);
}

export interface LoadedCheckpoint {
  readonly state: CheckpointState;
  readonly variables: ReadonlyMap<string, NamedTensor>;
  readonly momentum: ReadonlyMap<string, NamedTensor>;
}

export function readCheckpoint(path: string): LoadedCheckpoint {
  let source: ByteSource;
  try {
    source = fileSource(path);
  } catch (error) {
    throw new CheckpointError(`cannot read checkpoint ${path}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : String((error as Error).message ?? error)}`);
  }
  let file;
  try {
    file = decodeSafetensors(source);
  } catch (error) {
    if (error instanceof SafetensorsError) throw new CheckpointError(error.message);
    throw error;
  }
  if (file.metadata.format !== "detc-checkpoint" || !file.metadata.state)
    throw new CheckpointError(`${path} is a safetensors file but not a detc checkpoint`);
  if (file.metadata.layout !== CHECKPOINT_LAYOUT)
    throw new CheckpointError(
      `${path} was written by an earlier detc, whose box-head weights are laid out differently (layout ${file.metadata.layout ?? "1"}, this version reads ${CHECKPOINT_LAYOUT}); ` +
        "export it to .pth/.safetensors with that version and start from it with --init",
    );
  const variables = new Map<string, NamedTensor>();
  const momentum = new Map<string, NamedTensor>();
  for (const [name, tensor] of file.tensors) {
    if (name.startsWith(MOMENTUM_PREFIX)) momentum.set(name.slice(MOMENTUM_PREFIX.length), tensor);
    else variables.set(name, tensor);
  }
  return { state: JSON.parse(file.metadata.state) as CheckpointState, variables, momentum };
}
