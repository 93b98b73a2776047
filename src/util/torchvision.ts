/**
 * torchvision's detection conventions that both the checker (which reasons about them) and the
 * detector (which implements them) need, kept here so that `detection/` depends on nothing in
 * `check/`.
 */

/** torchvision pads every batch to a multiple of this (GeneralizedRCNNTransform.size_divisible). */
export const SIZE_DIVISIBLE = 32;

/** A side after torchvision's batch padding. */
export const padTo = (size: number) => Math.ceil(size / SIZE_DIVISIBLE) * SIZE_DIVISIBLE;

/** Name of the extra max-pool level, as torchvision's LastLevelMaxPool names it. */
export const POOL_LEVEL = "pool";
