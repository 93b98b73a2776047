import { describe, expect, it } from "vitest";
import type { DetectionDataset } from "../../src/data/dataset.js";
import { type Batch, batches, loadExamples, stepsPerEpoch } from "../../src/data/loader.js";
import { syntheticDataset } from "../../src/data/synthetic.js";

const dataset = syntheticDataset("train", { seed: 3, imageSize: 32, trainCount: 10 });
const ids = (batch: Batch): number[] => batch.samples.map((sample) => sample.id);
const take = (iterator: Iterator<Batch>, count: number): Batch[] =>
  Array.from({ length: count }, () => {
    const next = iterator.next();
    if (next.done) throw new Error("iterator ended early");
    return next.value;
  });

describe("batches", () => {
  it("visits every sample once per epoch, in a new seeded order each epoch", () => {
    const all = [...batches(dataset, { batchSize: 4, seed: 1, epochs: 2 })];
    expect(all.map((b) => [b.step, b.epoch, b.samples.length])).toEqual([
      [0, 0, 4],
      [1, 0, 4],
      [2, 0, 2],
      [3, 1, 4],
      [4, 1, 4],
      [5, 1, 2],
    ]);
    const epoch0 = all.slice(0, 3).flatMap(ids);
    const epoch1 = all.slice(3).flatMap(ids);
    expect([...epoch0].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(epoch1).not.toEqual(epoch0);
  });

  it("gives the same batches for the same seed and different ones for another", () => {
    const order = (seed: number): number[][] => [...batches(dataset, { batchSize: 3, seed, epochs: 1 })].map(ids);
    expect(order(9)).toEqual(order(9));
    expect(order(9)).not.toEqual(order(10));
  });

  it("resumes at any step exactly where an uninterrupted run would be", () => {
    const full = take(batches(dataset, { batchSize: 4, seed: 2 }), 12);
    for (const startStep of [0, 1, 2, 3, 5, 9]) {
      const resumed = take(batches(dataset, { batchSize: 4, seed: 2, startStep }), 12 - startStep);
      expect(resumed.map((b) => [b.step, b.epoch, ids(b), b.augmentationSeeds])).toEqual(
        full.slice(startStep).map((b) => [b.step, b.epoch, ids(b), b.augmentationSeeds]),
      );
    }
  });

  it("stops after the given epochs, counting resumed steps", () => {
    expect([...batches(dataset, { batchSize: 4, seed: 0, epochs: 2, startStep: 4 })].map((b) => b.step)).toEqual([4, 5]);
    expect([...batches(dataset, { batchSize: 4, seed: 0, epochs: 1, startStep: 3 })]).toEqual([]);
  });

  it("drops the short last batch when asked", () => {
    const all = [...batches(dataset, { batchSize: 4, seed: 0, epochs: 2, dropLast: true })];
    expect(all.map((b) => [b.epoch, b.samples.length])).toEqual([
      [0, 4],
      [0, 4],
      [1, 4],
      [1, 4],
    ]);
    expect(stepsPerEpoch(10, 4)).toBe(3);
    expect(stepsPerEpoch(10, 4, true)).toBe(2);
  });

  it("rejects options that make no batch when called, not at the first batch", () => {
    const empty: DetectionDataset = { ...dataset, samples: [] };
    expect(() => batches(empty, { batchSize: 2, seed: 0 })).toThrow("0 samples make no batch of 2");
    expect(() => batches(dataset, { batchSize: 11, seed: 0, dropLast: true })).toThrow(
      "10 samples make no batch of 11 with dropLast",
    );
    expect(() => batches(dataset, { batchSize: 0, seed: 0 })).toThrow("batch size must be a positive integer, got 0");
    expect(() => batches(dataset, { batchSize: 2, seed: 0, startStep: -1 })).toThrow(
      "start step must be a whole number, got -1",
    );
  });
});

describe("loadExamples", () => {
  it("loads and augments a batch the same way when resumed", async () => {
    const options = { minSize: 48, maxSize: 64, flipProbability: 0.5, training: true };
    const full = take(batches(dataset, { batchSize: 4, seed: 4 }), 6);
    const resumed = take(batches(dataset, { batchSize: 4, seed: 4, startStep: 5 }), 1);
    const [a, b] = await Promise.all([loadExamples(full[5]!, options), loadExamples(resumed[0]!, options)]);
    expect(b).toEqual(a);
    expect(a.map((example) => example.image.height)).toEqual(a.map(() => 48));
    const flips = (await Promise.all(full.map((batch) => loadExamples(batch, options)))).flat().map((e) => e.flipped);
    expect(flips).toContain(true);
    expect(flips).toContain(false);
  });
});
