/**
 * The training benches' images, as the data pipeline hands them to `trainStep`: read from the
 * pixels file bench/training.ts wrote, resized by the model's transform (at the input's own size,
 * so only a conversion to floats), boxes with them; no flip.
 */
import { readFileSync } from "node:fs";
import type { RgbImage } from "../src/data/dataset.js";
import type { Example } from "../src/data/transforms.js";
import type { GeneralizedRCNNTransform } from "../src/detection/transform.js";
import type { BenchInputs } from "./training.js";

export function readBenchExamples(inputsPath: string, transform: GeneralizedRCNNTransform): { images: RgbImage[]; examples: Example[]; pixelBytes: number } {
  const inputs = JSON.parse(readFileSync(inputsPath, "utf8")) as BenchInputs;
  const pixels = readFileSync(inputs.pixels);
  const imageBytes = inputs.size * inputs.size * 3;
  const images = inputs.boxes.map((_, i): RgbImage => ({
    width: inputs.size,
    height: inputs.size,
    data: new Uint8Array(pixels.buffer, pixels.byteOffset + i * imageBytes, imageBytes),
  }));
  const examples = images.map((image, i): Example => {
    const { image: resized, boxes } = transform.resize(image, inputs.boxes[i] ?? []);
    return { sampleId: i, image: resized, boxes, labels: inputs.labels[i] ?? [], originalSize: image, flipped: false };
  });
  return { images, examples, pixelBytes: pixels.byteLength };
}
