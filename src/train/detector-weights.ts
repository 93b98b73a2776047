/**
 * Where a built detector's weights come from, as every runtime command and the library take them:
 * a `detc run` checkpoint, or the spec's backbone weights with a torchvision detector's (`init`)
 * over them. Either every tensor is filled, or it throws with the report (see `load-weights.ts`).
 */
import type { FasterRCNN } from "../detection/faster-rcnn.js";
import { collectGarbage, collectGarbageEvery } from "../util/collect-garbage.js";
import { initialiseWeights, type WeightsReport } from "../weights/load-weights.js";
import { readCheckpoint } from "./checkpoint.js";
import { restoreVariables } from "./restore-variables.js";

export interface WeightsSource {
  /** A checkpoint written by `detc run` for this spec. */
  readonly weights?: string;
  /** Instead of `weights`: a torchvision Faster R-CNN state dict (.pth or .safetensors), in any layout. */
  readonly init?: string;
  /** Load files that lack some tensors or have others; the reports say what stayed as initialised. */
  readonly allowPartial?: boolean;
  /** The folder the spec's `backbone … weights "PATH"` is relative to (default: the working directory). */
  readonly specDir?: string;
}

/** Fills the model's variables; returns what each torchvision file filled (none for a checkpoint). */
export function loadWeights(model: FasterRCNN, source: WeightsSource): WeightsReport[] {
  if (source.weights !== undefined && source.init !== undefined) throw new Error("give weights (a detc checkpoint) or init (a torchvision state dict), not both");
  if (source.weights !== undefined) {
    restoreVariables(source.weights, model.variables(), readCheckpoint(source.weights).variables, collectGarbageEvery());
    collectGarbage();
    return [];
  }
  const reports = initialiseWeights(model, { ...source, specDir: source.specDir ?? "." });
  // The files' bytes, and the random values the weights replaced, are garbage now: freed before
  // inference or training, not held through it (V8 weighs such external memory lightly).
  collectGarbage();
  return reports;
}
