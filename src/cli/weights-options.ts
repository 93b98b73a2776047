/**
 * The weight options every command that takes weights shares (`run`, `predict`, `eval`, `forward`,
 * `export`), so they mean the same everywhere: a detc checkpoint (`--weights`) or a torchvision
 * file (`--init`), never both; strict loading unless `--allow-partial`; `--layout` for what is written.
 */
import { DEFAULT_LAYOUT, LAYOUTS, type Layout } from "../weights/layouts.js";
import { UsageError } from "./io.js";

export interface WeightOptions {
  weights?: string;
  init?: string;
  allowPartial?: boolean;
}

export const INIT_OPTION = [
  "--init <file>",
  "a torchvision Faster R-CNN state dict (.pth or .safetensors) in any layout: the tutorial's, torchvision's stock builders', detc export's",
] as const;

export const ALLOW_PARTIAL_OPTION = [
  "--allow-partial",
  "load weights files that lack some of the detector's tensors or have others; the report says what stays as initialised",
] as const;

export const LAYOUT_OPTION = [
  "--layout <layout>",
  "whose state-dict keys: tutorial (the seed tutorial's create_feature_extractor model) or torchvision (the stock builders')",
  DEFAULT_LAYOUT,
] as const;

/** `--weights` and `--init` are two starting points; given together, one would be ignored. */
export function checkWeightOptions(options: WeightOptions, required = false): void {
  if (options.weights !== undefined && options.init !== undefined)
    throw new UsageError("give --weights (a detc checkpoint) or --init (a torchvision state dict), not both");
  if (required && options.weights === undefined && options.init === undefined) throw new UsageError("give one of --weights or --init");
}

export function parseLayout(value: string): Layout {
  if (!(LAYOUTS as readonly string[]).includes(value)) throw new UsageError(`--layout ${value}: expected ${LAYOUTS.join(" or ")}`);
  return value as Layout;
}
