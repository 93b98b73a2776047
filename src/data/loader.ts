/**
 * Seeded, resumable batching. Batch `step` is a pure function of (dataset, seed, batch size, step):
 * epoch e visits the samples in the order of a shuffle seeded by (seed, e), and each sample of a
 * batch gets its own augmentation seed from (seed, step, position). Starting at `startStep`
 * therefore yields exactly what an uninterrupted run yields from that step on, flips included.
 */
import type { DetectionDataset, DetectionSample } from "./dataset.js";
import { hashSeed, seededRandom, shuffled } from "../util/random.js";
import { type Example, type ExampleOptions, prepareExample } from "./transforms.js";
import { elementAt } from "../util/element-at.js";

export interface BatchOptions {
  readonly batchSize: number;
  readonly seed: number;
  /** The first step to yield (0-based, counted across epochs), e.g. a checkpoint's step. */
  readonly startStep?: number;
  /** Stop after this many epochs; without it the iterator never ends. */
  readonly epochs?: number;
  /** Leave out each epoch's last, smaller batch (torchvision's training sampler does). */
  readonly dropLast?: boolean;
}

export interface Batch {
  /** 0-based, across epochs. */
  readonly step: number;
  readonly epoch: number;
  readonly samples: readonly DetectionSample[];
  /** Parallel to `samples`: the seed of each one's augmentation. */
  readonly augmentationSeeds: readonly number[];
}

export function stepsPerEpoch(sampleCount: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(sampleCount / batchSize) : Math.ceil(sampleCount / batchSize);
}

/** Checks the options at the call, then yields batch after batch. */
export function batches(dataset: DetectionDataset, options: BatchOptions): Generator<Batch> {
  const { batchSize, startStep = 0, dropLast = false } = options;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  }
  if (!Number.isInteger(startStep) || startStep < 0) {
    throw new RangeError(`start step must be a whole number, got ${startStep}`);
  }
  if (stepsPerEpoch(dataset.samples.length, batchSize, dropLast) === 0) {
    const count = dataset.samples.length;
    throw new RangeError(`${count} samples make no batch of ${batchSize}${dropLast ? " with dropLast" : ""}`);
  }
  return generateBatches(dataset, options);
}

function* generateBatches(dataset: DetectionDataset, options: BatchOptions): Generator<Batch> {
  const { batchSize, seed, startStep = 0, epochs = Infinity, dropLast = false } = options;
  const perEpoch = stepsPerEpoch(dataset.samples.length, batchSize, dropLast);
  const indices = dataset.samples.map((_, index) => index);
  let epoch = Math.floor(startStep / perEpoch);
  let order = shuffled(indices, seededRandom(seed, epoch));
  for (let step = startStep; step < epochs * perEpoch; step++) {
    if (Math.floor(step / perEpoch) !== epoch) {
      epoch = Math.floor(step / perEpoch);
      order = shuffled(indices, seededRandom(seed, epoch));
    }
    const start = (step % perEpoch) * batchSize;
    const members = order.slice(start, start + batchSize);
    yield {
      step,
      epoch,
      samples: members.map((index) => elementAt(dataset.samples, index)),
      augmentationSeeds: members.map((_, position) => hashSeed(seed, step, position)),
    };
  }
}

/** Decodes a batch's images (in parallel) and prepares them for the model. */
export async function loadExamples(batch: Batch, options: ExampleOptions): Promise<Example[]> {
  return Promise.all(
    batch.samples.map(async (sample, position) =>
      prepareExample(sample, await sample.loadImage(), options, seededRandom(elementAt(batch.augmentationSeeds, position))),
    ),
  );
}
