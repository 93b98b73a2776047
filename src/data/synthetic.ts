/**
 * The built-in dataset, used when a spec names none: coloured shapes on textured backgrounds,
 * generated in memory from a seed, so `detc run` works offline and reproducibly.
 *
 * It is meant to be learnt in minutes by a small Faster R-CNN on a CPU, so each class differs in
 * shape *and* colour family (saturated, bright) from a dull, noisy background; objects do not
 * overlap and span 12–45% of the shorter image side, at aspect ratios 0.8–1.25.
 *
 * Layouts (boxes, colours) are drawn when the dataset is made; pixels are rendered on each
 * `loadImage()` from the sample's own seed, so nothing is stored and any image can be regenerated
 * alone. Train and val come from disjoint streams of the same seed.
 */
import type { Box, DetectionDataset, DetectionSample, RgbImage } from "./dataset.js";
import { boxArea } from "./dataset.js";
import type { ImageSize } from "./images.js";
import { type Random, randomInt, seededRandom, uniform } from "../util/random.js";
import { elementAt } from "../util/element-at.js";

interface ShapeClass {
  readonly name: string;
  /** Centre of the class's hue family, in degrees. */
  readonly hue: number;
  /** Whether the point (u, v) of the unit box, (0, 0) top-left, is inside the shape. */
  contains(u: number, v: number): boolean;
}

/** Every shape touches all four sides of its unit box, so the box is tight. */
const SHAPE_CLASSES: readonly ShapeClass[] = [
  { name: "circle", hue: 0, contains: (u, v) => (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25 },
  { name: "square", hue: 120, contains: () => true },
  { name: "triangle", hue: 225, contains: (u, v) => Math.abs(u - 0.5) * 2 <= v },
  { name: "cross", hue: 50, contains: (u, v) => Math.abs(u - 0.5) <= 1 / 6 || Math.abs(v - 0.5) <= 1 / 6 },
];

export const SYNTHETIC_CLASS_NAMES: readonly string[] = SHAPE_CLASSES.map(({ name }) => name);

export interface SyntheticOptions {
  readonly seed?: number;
  /** Side of a square image, or its size; 128 by default. */
  readonly imageSize?: number | ImageSize;
  readonly trainCount?: number;
  readonly valCount?: number;
}

export const SYNTHETIC_DEFAULTS = { seed: 0, imageSize: 128, trainCount: 512, valCount: 128 } as const;

const OBJECTS_PER_IMAGE = { min: 1, max: 4 };
const OBJECT_SIDE_FRACTION = { min: 0.12, max: 0.45 };
const PLACEMENT_ATTEMPTS = 50;

type Rgb = readonly [number, number, number];

interface ShapeLayout {
  readonly box: Box;
  readonly shape: ShapeClass;
  /** 0..255 per channel. */
  readonly colour: Rgb;
}

interface ImageLayout {
  readonly width: number;
  readonly height: number;
  readonly shapes: readonly ShapeLayout[];
  readonly renderSeed: readonly number[];
}

/** HSV (hue in degrees, s and v in [0, 1]) to 0..255 RGB. */
function hsvToRgb(hue: number, saturation: number, value: number): Rgb {
  const channel = (n: number): number => {
    const k = (n + hue / 60) % 6;
    return 255 * (value - value * saturation * Math.max(0, Math.min(k, 4 - k, 1)));
  };
  return [channel(5), channel(3), channel(1)];
}

function overlaps(a: Box, b: Box): boolean {
  return a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
}

function drawLayout(width: number, height: number, random: Random): ShapeLayout[] {
  const shapes: ShapeLayout[] = [];
  const count = randomInt(random, OBJECTS_PER_IMAGE.min, OBJECTS_PER_IMAGE.max);
  const shorterSide = Math.min(width, height);
  for (let attempt = 0; attempt < PLACEMENT_ATTEMPTS && shapes.length < count; attempt++) {
    const side = uniform(random, OBJECT_SIDE_FRACTION.min, OBJECT_SIDE_FRACTION.max) * shorterSide;
    const aspect = Math.exp(uniform(random, Math.log(0.8), Math.log(1.25)));
    const boxWidth = side * Math.sqrt(aspect);
    const boxHeight = side / Math.sqrt(aspect);
    const x1 = uniform(random, 0, width - boxWidth);
    const y1 = uniform(random, 0, height - boxHeight);
    const box: Box = [x1, y1, x1 + boxWidth, y1 + boxHeight];
    const shape = elementAt(SHAPE_CLASSES, randomInt(random, 0, SHAPE_CLASSES.length - 1));
    const colour = hsvToRgb(
      (shape.hue + uniform(random, -12, 12) + 360) % 360,
      uniform(random, 0.65, 0.95),
      uniform(random, 0.75, 1),
    );
    if (shapes.every((other) => !overlaps(other.box, box))) shapes.push({ box, shape, colour });
  }
  return shapes;
}

/** A dull, gently textured background; shapes antialiased over it; sensor-like noise on top. */
function renderLayout(layout: ImageLayout): RgbImage {
  const { width, height } = layout;
  const random = seededRandom(...layout.renderSeed);
  const base = hsvToRgb(uniform(random, 0, 360), uniform(random, 0, 0.25), uniform(random, 0.2, 0.55));
  const waves = [0, 1].map(() => {
    const angle = uniform(random, 0, Math.PI);
    const frequency = uniform(random, 2, 8) / Math.min(width, height); // a few stripes per image
    const radians = frequency * 2 * Math.PI;
    return { dx: Math.cos(angle) * radians, dy: Math.sin(angle) * radians, phase: uniform(random, 0, 2 * Math.PI) };
  });
  const pixels = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let wave = 0;
      for (const { dx, dy, phase } of waves) wave += Math.sin(x * dx + y * dy + phase);
      const shade = 1 + (0.12 * wave) / waves.length;
      for (let c = 0; c < 3; c++) pixels[(y * width + x) * 3 + c] = elementAt(base, c) * shade;
    }
  }

  const subsamples = 4; // per axis: antialiased edges, so boxes and pixels agree to a fraction of a pixel
  for (const { box, shape, colour } of layout.shapes) {
    const [x1, y1, x2, y2] = box;
    for (let y = Math.floor(y1); y < Math.ceil(y2); y++) {
      for (let x = Math.floor(x1); x < Math.ceil(x2); x++) {
        let inside = 0;
        for (let sy = 0; sy < subsamples; sy++) {
          for (let sx = 0; sx < subsamples; sx++) {
            const u = (x + (sx + 0.5) / subsamples - x1) / (x2 - x1);
            const v = (y + (sy + 0.5) / subsamples - y1) / (y2 - y1);
            if (u >= 0 && u <= 1 && v >= 0 && v <= 1 && shape.contains(u, v)) inside++;
          }
        }
        const coverage = inside / subsamples ** 2;
        for (let c = 0; c < 3; c++) {
          const at = (y * width + x) * 3 + c;
          pixels[at] = elementAt(pixels, at) * (1 - coverage) + elementAt(colour, c) * coverage;
        }
      }
    }
  }

  const data = new Uint8Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const noise = (random() + random() + random() - 1.5) * 16; // roughly Gaussian, σ ≈ 8 levels
    data[i] = Math.max(0, Math.min(255, Math.round(elementAt(pixels, i) + noise)));
  }
  return { width, height, data };
}

function sizeOf(imageSize: number | ImageSize): ImageSize {
  const size = typeof imageSize === "number" ? { width: imageSize, height: imageSize } : imageSize;
  if (![size.width, size.height].every((side) => Number.isInteger(side) && side >= 16)) {
    throw new RangeError(`synthetic image size must be whole pixels ≥ 16, got ${size.width}×${size.height}`);
  }
  return size;
}

export function syntheticDataset(split: "train" | "val", options: SyntheticOptions = {}): DetectionDataset {
  const seed = options.seed ?? SYNTHETIC_DEFAULTS.seed;
  const { width, height } = sizeOf(options.imageSize ?? SYNTHETIC_DEFAULTS.imageSize);
  const count =
    split === "train"
      ? (options.trainCount ?? SYNTHETIC_DEFAULTS.trainCount)
      : (options.valCount ?? SYNTHETIC_DEFAULTS.valCount);
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`synthetic ${split} count must be a whole number, got ${count}`);
  }
  const stream = split === "train" ? 0 : 1;

  const samples = Array.from({ length: count }, (_, index): DetectionSample => {
    const shapes = drawLayout(width, height, seededRandom(seed, stream, index));
    const layout: ImageLayout = { width, height, shapes, renderSeed: [seed, stream, index, 1] };
    const boxes = shapes.map(({ box }) => box);
    return {
      id: index + 1,
      name: `synthetic-${split}-${index + 1}`,
      width,
      height,
      boxes,
      labels: shapes.map(({ shape }) => SHAPE_CLASSES.indexOf(shape) + 1),
      iscrowd: boxes.map(() => false),
      difficult: boxes.map(() => false),
      areas: boxes.map(boxArea),
      loadImage: async () => {
        // Rendering is synchronous work: yield first, as a file read would, so that Ctrl-C and
        // timers get their turn between images (awaiting alone never leaves the microtask queue).
        await new Promise((resolve) => setTimeout(resolve, 0));
        return renderLayout(layout);
      },
    };
  });
  return { kind: "synthetic", split, classNames: SYNTHETIC_CLASS_NAMES, samples, warnings: [] };
}
