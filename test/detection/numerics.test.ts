/** torch's scalar conventions where JavaScript's differ: half-to-even rounding, float32 neighbours. */
import { describe, expect, it } from "vitest";
import { float32Above, roundHalfToEven } from "../../src/util/numerics.js";

describe("numerics", () => {
  it("roundHalfToEven sends halves to the even neighbour, everything else to the nearest", () => {
    expect([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5].map(roundHalfToEven).map((v) => v + 0)).toEqual([-2, -2, 0, 0, 2, 2, 4]);
    expect([-2.6, -0.4, 0.4, 2.4999, 2.6].map(roundHalfToEven).map((v) => v + 0)).toEqual([-3, 0, 0, 2, 3]);
  });

  it("float32Above is the next float32 up: one ulp above a float32, the float32 just above anything else", () => {
    expect(float32Above(1)).toBe(1 + 2 ** -23);
    expect(float32Above(0.5)).toBe(0.5 + 2 ** -24);
    expect(float32Above(0.1)).toBe(Math.fround(0.1)); // 0.1 rounds up in float32: that float32 is above it
    expect(Math.fround(0.7)).toBeLessThan(0.7); // 0.7 rounds down: the answer is one ulp (2^-24 in [0.5, 1)) higher
    expect(float32Above(0.7)).toBe(Math.fround(0.7) + 2 ** -24);
  });
});
