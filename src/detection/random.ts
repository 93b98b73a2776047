/**
 * A seedable source of uniform numbers in [0, 1), for the detector's random choices (the balanced
 * sampler) so that runs and tests can be made deterministic. torch draws from its global generator;
 * we pass the generator explicitly instead.
 */
export type RandomSource = () => number;

/** A seeded source whose whole state is one number: a checkpoint saves it, a resumed run restores it. */
export interface SeededRandom extends RandomSource {
  state: number;
}

/** mulberry32: a tiny 32-bit generator with good statistical quality for sampling. */
export function seededRandom(seed: number): SeededRandom {
  const next = (() => {
    next.state = (next.state + 0x6d2b79f5) >>> 0;
    let t = next.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as SeededRandom;
  next.state = seed >>> 0;
  return next;
}
