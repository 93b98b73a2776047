/** Matcher against torchvision; the balanced sampler by its counts and invariants (its choice is random). */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { BalancedPositiveNegativeSampler, Matcher } from "../../src/detection/matcher.js";
import { randomFromState } from "../../src/util/random.js";
import { BACKENDS, golden, useBackend } from "./support.js";

interface MatcherCase {
  name: string;
  allowLowQualityMatches: boolean;
  quality: number[][];
  matches: number[];
}

interface SamplerGolden {
  matched: number[];
  batchSizePerImage: number;
  positiveFraction: number;
  numPositive: number;
  numNegative: number;
}

const matcherCases = golden<MatcherCase[]>("matcher");
const samplerGolden = golden<SamplerGolden>("sampler");

const indicesOf = (mask: tf.Tensor1D) => Array.from(mask.dataSync()).flatMap((on, i) => (on ? [i] : []));

describe.each(BACKENDS)("Matcher on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("uses torchvision's negative codes", () => {
    expect(Matcher.BELOW_LOW_THRESHOLD).toBe(-1);
    expect(Matcher.BETWEEN_THRESHOLDS).toBe(-2);
  });

  it.each(matcherCases.map((c) => [c.name, c.allowLowQualityMatches, c] as const))(
    "%s, allow_low_quality_matches=%s",
    (_, allow, c) => {
      const matches = new Matcher(0.7, 0.3, allow).match(tf.tensor2d(c.quality));
      expect(matches.dtype).toBe("int32");
      expect(Array.from(matches.dataSync())).toEqual(c.matches);
    },
  );

  it("refuses empty ground truth or predictions like torchvision", () => {
    const matcher = new Matcher(0.7, 0.3);
    expect(() => matcher.match(tf.zeros([0, 5]) as tf.Tensor2D)).toThrow(/No ground-truth boxes/);
    expect(() => matcher.match(tf.zeros([2, 0]) as tf.Tensor2D)).toThrow(/No proposal boxes/);
    expect(() => new Matcher(0.3, 0.7)).toThrow(/lowThreshold/);
  });
});

describe.each(BACKENDS)("BalancedPositiveNegativeSampler on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("takes as many positives and negatives as torchvision", () => {
    const { matched, batchSizePerImage, positiveFraction, numPositive, numNegative } = samplerGolden;
    const sampler = new BalancedPositiveNegativeSampler(batchSizePerImage, positiveFraction);
    const { positive, negative } = sampler.sample([tf.tensor1d(matched, "int32")], randomFromState(1));
    expect(indicesOf(positive[0]!)).toHaveLength(numPositive);
    expect(indicesOf(negative[0]!)).toHaveLength(numNegative);
  });

  it("only picks positives (label >= 1) and negatives (label 0), fills with negatives, honours the batch size", () => {
    const labels = Array.from({ length: 300 }, (_, i) => (i % 10 === 0 ? 1 + (i % 3) : i % 7 === 0 ? -1 : 0));
    const sampler = new BalancedPositiveNegativeSampler(64, 0.25);
    for (let seed = 0; seed < 5; seed++) {
      const { positive, negative } = sampler.sample([tf.tensor1d(labels, "int32")], randomFromState(seed));
      const positives = indicesOf(positive[0]!);
      const negatives = indicesOf(negative[0]!);
      expect(positives).toHaveLength(16);
      expect(negatives).toHaveLength(48);
      expect(positives.every((i) => labels[i]! >= 1)).toBe(true);
      expect(negatives.every((i) => labels[i] === 0)).toBe(true);
    }
    const fewPositives = labels.map((label, i) => (label >= 1 && i > 50 ? 0 : label));
    const few = sampler.sample([tf.tensor1d(fewPositives, "int32")], randomFromState(3));
    expect(indicesOf(few.positive[0]!)).toHaveLength(6);
    expect(indicesOf(few.negative[0]!)).toHaveLength(58);
  });

  it("is a function of the seed, and every candidate gets its chance", () => {
    const labels = tf.tensor1d([0, 1, 0, 0, 2, 0, -1, 0, 1, 0, 0, 0], "int32");
    const sampler = new BalancedPositiveNegativeSampler(4, 0.25);
    const draw = (seed: number) => {
      const { positive, negative } = sampler.sample([labels], randomFromState(seed));
      return [indicesOf(positive[0]!), indicesOf(negative[0]!)];
    };
    expect(draw(7)).toEqual(draw(7));
    const everPicked = new Set<number>();
    for (let seed = 0; seed < 60; seed++) draw(seed).flat().forEach((i) => everPicked.add(i));
    expect([...everPicked].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 7, 8, 9, 10, 11]);
  });

  it("samples each image of a batch on its own", () => {
    const sampler = new BalancedPositiveNegativeSampler(2, 0.5);
    const { positive, negative } = sampler.sample(
      [tf.tensor1d([1, 0, 0], "int32"), tf.tensor1d([-1, -1, 0, 0, 0], "int32")],
      randomFromState(0),
    );
    expect(positive.map((mask) => indicesOf(mask).length)).toEqual([1, 0]);
    expect(negative.map((mask) => indicesOf(mask).length)).toEqual([1, 2]);
  });
});
