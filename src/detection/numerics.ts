/**
 * Scalar arithmetic that reproduces torch's conventions where they differ from JavaScript's.
 */

/** `torch.round`: halves go to the nearest even integer (`Math.round` sends them up). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The smallest double strictly greater than a finite `value` (C's `nextafter(value, +inf)`). */
export function nextUp(value: number): number {
  if (value === 0) return Number.MIN_VALUE;
  const bits = new BigInt64Array(new Float64Array([value]).buffer);
  bits[0] += value > 0 ? 1n : -1n;
  return new Float64Array(bits.buffer)[0]!;
}
