/**
 * Scalar arithmetic that reproduces torch's conventions where they differ from JavaScript's
 * (the zoo's RegNet widths and the detector's anchors and pooler scales round the same way).
 */

/** `torch.round`: halves go to the nearest even integer (`Math.round` sends them up). */
export function roundHalfToEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction !== 0.5) return Math.round(value);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** The smallest float32 strictly greater than `value` (for `value >= 0`). */
export function float32Above(value: number): number {
  const rounded = Math.fround(value);
  if (rounded > value) return rounded;
  const bits = new Uint32Array(new Float32Array([rounded]).buffer);
  bits[0]! += 1;
  return new Float32Array(bits.buffer)[0]!;
}
