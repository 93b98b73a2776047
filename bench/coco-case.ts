/**
 * A synthetic COCO val2017-sized evaluation case, the same every run: 5 000 images of COCO's usual
 * sizes, ~36 700 ground-truth objects over COCO's 80 category ids (skewed as COCO is: about a
 * quarter of the objects in the most common category), COCO's small/medium/large mix (41/34/24 %),
 * 1 % crowd regions, a polygon per object (its area is the object's, as COCO's mask area is), and a
 * detector's output: jittered copies of the objects (sometimes the wrong class) and false positives,
 * at most 100 per image, ~205 000 in all, with float32 scores as a real model writes them.
 */

/** COCO's 80 category ids (1…90 with gaps). */
const CATEGORY_IDS = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 27, 28, 31, 32, 33, 34, 35,
  36, 37, 38, 39, 40, 41, 42, 43, 44, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65,
  67, 70, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 84, 85, 86, 87, 88, 89, 90,
];
const IMAGE_SIZES = [[640, 480], [640, 427], [480, 640], [640, 424], [427, 640], [500, 375], [640, 360]] as const;
const SIZE_CLASSES = [
  { share: 0.33, minSide: 3, maxSide: 32 },
  { share: 0.39, minSide: 32, maxSide: 96 },
  { share: 0.28, minSide: 96, maxSide: 600 },
] as const;
const IMAGES = 5000;
const MAX_DETECTIONS_PER_IMAGE = 100;

export interface CocoCase {
  readonly groundTruth: object;
  readonly detections: readonly object[];
  readonly annotationCount: number;
}

/** mulberry32: small, fast, and the same sequence on every machine. */
function random(seed: number) {
  let state = seed >>> 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  const between = (low: number, high: number) => low + (high - low) * uniform();
  const integer = (low: number, high: number) => Math.floor(between(low, high + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(uniform() * items.length)] ?? items[0]!;
  const weighted = (weights: readonly number[]): number => {
    let left = uniform() * weights.reduce((sum, w) => sum + w, 0);
    for (const [index, weight] of weights.entries()) if ((left -= weight) < 0) return index;
    return weights.length - 1;
  };
  return { uniform, normal, between, integer, pick, weighted };
}

type Random = ReturnType<typeof random>;
type Box = [number, number, number, number];
const round2 = (value: number) => Math.round(value * 100) / 100;

function objectBox(rng: Random, width: number, height: number, sizeClass: number): Box {
  const { minSide, maxSide } = SIZE_CLASSES[sizeClass]!;
  const side = Math.exp(rng.between(Math.log(minSide), Math.log(maxSide)));
  const aspect = Math.exp(0.5 * rng.normal());
  const w = Math.min(side * aspect, width - 1);
  const h = Math.min(side / aspect, height - 1);
  return [round2(rng.between(0, width - w)), round2(rng.between(0, height - h)), round2(w), round2(h)];
}

/** An irregular polygon inside the box, and its area (shoelace), as COCO's segmentation and area. */
function polygon(rng: Random, [x, y, w, h]: Box): { segmentation: number[][]; area: number } {
  const vertices = rng.integer(12, 40);
  const points: number[] = [];
  for (let v = 0; v < vertices; v++) {
    const angle = (2 * Math.PI * v) / vertices;
    const radius = rng.between(0.7, 1);
    points.push(round2(x + (w / 2) * (1 + radius * Math.cos(angle))), round2(y + (h / 2) * (1 + radius * Math.sin(angle))));
  }
  let twiceArea = 0;
  for (let v = 0; v < vertices; v++) {
    const next = (v + 1) % vertices;
    twiceArea += points[2 * v]! * points[2 * next + 1]! - points[2 * next]! * points[2 * v + 1]!;
  }
  return { segmentation: [points], area: round2(Math.abs(twiceArea) / 2) };
}

function jitter(rng: Random, [x, y, w, h]: Box, amount: number, width: number, height: number): Box {
  const left = Math.max(0, x + amount * w * rng.normal());
  const top = Math.max(0, y + amount * h * rng.normal());
  return [
    round2(left),
    round2(top),
    round2(Math.max(1, Math.min(width - left, w * Math.exp(amount * rng.normal())))),
    round2(Math.max(1, Math.min(height - top, h * Math.exp(amount * rng.normal())))),
  ];
}

export function cocoCase(seed = 2017): CocoCase {
  const rng = random(seed);
  // Zipf-like class frequencies: the first id (person) the most common, as in COCO.
  const categoryWeights = CATEGORY_IDS.map((_, rank) => 1 / (rank + 1) ** 1.1);
  const imageIds = new Set<number>();
  while (imageIds.size < IMAGES) imageIds.add(rng.integer(1, 581_929));
  const images: object[] = [];
  const annotations: object[] = [];
  const detections: object[] = [];
  for (const id of imageIds) {
    const [width, height] = rng.pick(IMAGE_SIZES);
    images.push({ id, file_name: `${String(id).padStart(12, "0")}.jpg`, width, height });
    const imageDetections: { image_id: number; category_id: number; bbox: Box; score: number }[] = [];
    const objects = Math.min(60, Math.floor(Math.exp(1.65 + 0.9 * rng.normal())));
    for (let o = 0; o < objects; o++) {
      const iscrowd = rng.uniform() < 0.01 ? 1 : 0;
      const categoryId = CATEGORY_IDS[rng.weighted(categoryWeights)]!;
      const bbox = objectBox(rng, width, height, iscrowd ? 2 : rng.weighted(SIZE_CLASSES.map((c) => c.share)));
      const { segmentation, area } = polygon(rng, bbox);
      const crowdMask = { counts: Array.from({ length: 24 }, () => rng.integer(1, 4000)), size: [height, width] };
      annotations.push({
        segmentation: iscrowd ? crowdMask : segmentation,
        area,
        iscrowd,
        image_id: id,
        bbox,
        category_id: categoryId,
        id: annotations.length + 1,
      });
      for (let d = rng.pick([0, 1, 1, 1, 1, 2, 2, 3]); d > 0; d--) {
        const quality = rng.between(0.01, 0.25);
        const score = Math.min(1, Math.max(0.05, 1 - 2 * quality + 0.2 * rng.normal()));
        const category = rng.uniform() < 0.9 ? categoryId : CATEGORY_IDS[rng.weighted(categoryWeights)]!;
        imageDetections.push({ image_id: id, category_id: category, bbox: jitter(rng, bbox, quality, width, height), score });
      }
    }
    for (let f = rng.integer(11, 50); f > 0; f--) {
      const category = CATEGORY_IDS[rng.weighted(categoryWeights)]!;
      const bbox = objectBox(rng, width, height, rng.weighted(SIZE_CLASSES.map((c) => c.share)));
      imageDetections.push({ image_id: id, category_id: category, bbox, score: 0.05 + 0.65 * rng.uniform() ** 2 });
    }
    // A detector keeps its best 100 per image; scores are float32.
    imageDetections.sort((p, q) => q.score - p.score);
    for (const detection of imageDetections.slice(0, MAX_DETECTIONS_PER_IMAGE))
      detections.push({ ...detection, score: Math.fround(detection.score) });
  }
  const categories = CATEGORY_IDS.map((id) => ({ supercategory: "object", id, name: `class${id}` }));
  return { groundTruth: { images, annotations, categories }, detections, annotationCount: annotations.length };
}
