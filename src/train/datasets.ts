/** The datasets a spec trains and evaluates on; paths are relative to the spec file's folder. */
import { resolve } from "node:path";
import type { DetectorSpec } from "../check/detector-spec.js";
import { type DetectionDataset, trainingSubset } from "../data/dataset.js";
import { syntheticDataset } from "../data/synthetic.js";
import { InputError } from "../util/input-error.js";

export interface SpecDatasets {
  readonly train: DetectionDataset;
  readonly val: DetectionDataset;
}

/** The synthetic set's image side follows the spec's input so the quick start never resizes. */
function syntheticSide(spec: DetectorSpec): number {
  return spec.input.kind === "exact" ? Math.max(spec.input.height, spec.input.width) : spec.input.min;
}

/** Thrown when the data's classes are not the spec's: training would silently mislabel. */
export class ClassMismatchError extends InputError {}

/** The spec's `classes` must describe the dataset's categories (count, and names when given). */
function checkClasses(spec: DetectorSpec, datasets: SpecDatasets): SpecDatasets {
  for (const dataset of new Set([datasets.train, datasets.val])) {
    const names = dataset.classNames;
    const where = `the ${dataset.kind} ${dataset.split} split`;
    if (names.length + 1 !== spec.classes.count)
      throw new ClassMismatchError(
        `${where} has ${names.length} classes (${names.join(", ")}) but the spec says \`classes ${spec.classes.count}\` ` +
          `(${spec.classes.count - 1} + background); write \`classes ${names.length + 1}\` or list the names`,
      );
    const written = spec.classes.names;
    if (written && written.some((name, i) => name !== names[i]))
      throw new ClassMismatchError(`${where} has classes ${names.join(", ")}, in this order, but the spec lists ${written.join(", ")}`);
  }
  return datasets;
}

/** Training would be impossible (no images, no boxes, only crowd regions); the message has the counts. */
export class UnusableDatasetError extends InputError {}

/**
 * Checks up front that the data can be trained and evaluated on, and says what was read:
 * `coco data: train 118287 images (117266 with boxes), 860001 boxes (9 crowd) · val 5000 images, …`.
 */
export function checkTrainingData(datasets: SpecDatasets): string {
  const describe = (dataset: DetectionDataset, role: "train" | "val") => {
    const boxes = dataset.samples.reduce((n, s) => n + s.boxes.length, 0);
    const crowd = dataset.samples.reduce((n, s) => n + s.iscrowd.filter(Boolean).length, 0);
    const trainable = trainingSubset(dataset).samples.length;
    const where = `the ${dataset.kind} ${dataset.split} split${role === "val" && datasets.val !== datasets.train ? " (validation)" : ""}`;
    const skipped = dataset.warnings.length > 0 ? ` (${dataset.warnings.length} records were skipped, see the warnings above)` : "";
    if (dataset.samples.length === 0) throw new UnusableDatasetError(`${where} has no images${skipped}`);
    if (role === "train" && boxes === 0) throw new UnusableDatasetError(`${where} has ${dataset.samples.length} images but no boxes to train on${skipped}`);
    if (role === "train" && trainable === 0)
      throw new UnusableDatasetError(`all ${boxes} boxes of ${where} are crowd regions (iscrowd 1), which training leaves out, as torchvision's reference does`);
    return `${role} ${dataset.samples.length} images${role === "train" ? ` (${trainable} with boxes)` : ""}, ${boxes} boxes${crowd ? ` (${crowd} crowd)` : ""}`;
  };
  const parts = [describe(datasets.train, "train"), ...(datasets.val === datasets.train ? [] : [describe(datasets.val, "val")])];
  return `${datasets.train.kind} data: ${parts.join(" · ")}${datasets.val === datasets.train ? " (validated on the training split)" : ""}`;
}

/**
 * One line per dataset with photos turned upright by their EXIF orientation, since their boxes are
 * then read against the turned pixels (as annotation tools show them), not the stored ones.
 */
export function exifNotices(...datasets: DetectionDataset[]): string[] {
  return [...new Set(datasets)].flatMap(({ kind, split, samples, turnedByExif = 0 }) =>
    turnedByExif > 0 ? [`${kind} ${split}: ${turnedByExif} of ${samples.length} images rotated by EXIF (read upright, as annotation tools show them)`] : [],
  );
}

export async function loadSpecDatasets(spec: DetectorSpec, specDir: string): Promise<SpecDatasets> {
  return checkClasses(spec, await loadDatasets(spec, specDir));
}

async function loadDatasets(spec: DetectorSpec, specDir: string): Promise<SpecDatasets> {
  const dataset = spec.dataset;
  const seed = spec.settings.train.seed;
  switch (dataset.format) {
    case "synthetic": {
      const options = { seed, imageSize: syntheticSide(spec) };
      return { train: syntheticDataset("train", options), val: syntheticDataset("val", options) };
    }
    case "coco": {
      // The file loaders (and sharp, which they load) only for the datasets that need them: the
      // synthetic set's annotations are ready in milliseconds (`detc check --data`).
      const { loadCocoDataset } = await import("../data/coco.js");
      const split = async (name: "train" | "val", paths: { annotations: string; images: string }) =>
        loadCocoDataset({ annotationFile: resolve(specDir, paths.annotations), imageDir: resolve(specDir, paths.images), split: name });
      const train = await split("train", dataset.train);
      return { train, val: dataset.val ? await split("val", dataset.val) : train };
    }
    case "voc": {
      const { loadVocDataset } = await import("../data/voc.js");
      const root = resolve(specDir, dataset.root);
      return {
        train: await loadVocDataset({ root, split: dataset.train, classNames: spec.classes.names }),
        val: await loadVocDataset({ root, split: dataset.val, classNames: spec.classes.names }),
      };
    }
  }
}
