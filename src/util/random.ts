/**
 * Seeded pseudo-random numbers: detc's one generator. Everything random (synthetic images,
 * shuffling, augmentation, the detector's balanced sampler) draws from streams derived from a user
 * seed and a position (split, epoch, step, ...), so any piece can be regenerated on its own: a
 * resumed run sees exactly the batches and samples an uninterrupted run would. torch draws from
 * its global generator; we pass generators explicitly instead.
 */
import { elementAt } from "./element-at.js";

/** A stream of uniform numbers in [0, 1). */
export type Random = () => number;

/** A generator whose whole state is one number: a checkpoint saves it, a resumed run restores it. */
export interface SeededRandom extends Random {
  state: number;
}

/** Mixes 32-bit words into one well-spread 32-bit hash (murmur3's finaliser per word). */
export function hashSeed(...keys: readonly number[]): number {
  let hash = 0x9e3779b9;
  for (const key of keys) {
    if (!Number.isSafeInteger(key)) throw new RangeError(`seed key must be an integer, got ${key}`);
    // Fold in both halves so seeds beyond 2^32 stay distinct.
    for (const word of [key >>> 0, Math.floor(key / 2 ** 32) >>> 0]) {
      hash = Math.imul(hash ^ word, 0x85ebca6b);
      hash ^= hash >>> 13;
      hash = Math.imul(hash, 0xc2b2ae35);
      hash ^= hash >>> 16;
    }
  }
  return hash >>> 0;
}

/** mulberry32 (tiny, fast, good enough for sampling and procedural images) from a raw 32-bit state. */
export function randomFromState(state: number): SeededRandom {
  const next = Object.assign(
    () => {
      next.state = (next.state + 0x6d2b79f5) >>> 0;
      let t = next.state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
    },
    { state: state >>> 0 },
  );
  return next;
}

/** The stream for a seed and a position in the run (the keys are hashed together). */
export function seededRandom(...keys: readonly number[]): SeededRandom {
  return randomFromState(hashSeed(...keys));
}

export function uniform(random: Random, low: number, high: number): number {
  return low + (high - low) * random();
}

/** An integer in [low, high], both ends included. */
export function randomInt(random: Random, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** A shuffled copy (Fisher–Yates). */
export function shuffled<T>(items: readonly T[], random: Random): T[] {
  const result = [...items];
  for (let i = result.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [result[i], result[j]] = [elementAt(result, j), elementAt(result, i)];
  }
  return result;
}
