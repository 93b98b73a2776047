/**
 * train.py's data: detc's seeded random numbers ported bit for bit (src/util/random.ts), the
 * spec's dataset read as detc reads it (same samples, same order, same box clipping), and
 * `detc run`'s batches split over the processes. So train.py trains on the samples `detc run`
 * trains on, step for step, with the same flips, and the synthetic set is the same pixels.
 */
import type { DetectorSpec } from "../check/detector-spec.js";
import { SYNTHETIC_CLASS_NAMES, SYNTHETIC_DEFAULTS } from "../data/synthetic.js";
import { pyList, pyString } from "./python.js";

/** VOC's 20 classes in the devkit's order (labels 1..20), as `src/data/voc.ts` uses them. */
const VOC_CLASSES = [
  "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
  "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
];

export const SEEDED_RANDOM = `# detc's seeded random numbers (src/util/random.ts), bit for bit: the shuffles, flips and synthetic
# pixels of train.py are those of \`detc run\`.
MASK = 0xFFFFFFFF


def hash_seed(*keys):
    """murmur3's finaliser folded over each key's two 32-bit halves (detc's hashSeed)."""
    value = 0x9E3779B9
    for key in keys:
        for word in (key & MASK, (key >> 32) & MASK):
            value = ((value ^ word) * 0x85EBCA6B) & MASK
            value ^= value >> 13
            value = (value * 0xC2B2AE35) & MASK
            value ^= value >> 16
    return value


def mulberry32(state):
    """mulberry32's number in [0, 1) for a state (a Python int, or a numpy uint64 array of them)."""
    t = ((state ^ (state >> 15)) * (state | 1)) & MASK
    t ^= (t + ((t ^ (t >> 7)) * (t | 61))) & MASK
    return ((t ^ (t >> 14)) & MASK) / 2**32


def seeded_random(*keys):
    """A stream of uniform numbers in [0, 1) (detc's seededRandom)."""
    state = hash_seed(*keys)

    def draw():
        nonlocal state
        state = (state + 0x6D2B79F5) & MASK
        return mulberry32(state)

    return draw


def seeded_randoms(count, skip, *keys):
    """Draws skip + 1 … skip + count of seeded_random(*keys), at once."""
    states = hash_seed(*keys) + np.arange(skip + 1, skip + count + 1, dtype=np.uint64) * np.uint64(0x6D2B79F5)
    return mulberry32(states & np.uint64(MASK))


def uniform(random, low, high):
    return low + (high - low) * random()


def shuffled(items, random):
    """Fisher–Yates from the end (detc's shuffled)."""
    result = list(items)
    for i in range(len(result) - 1, 0, -1):
        j = math.floor(random() * (i + 1))
        result[i], result[j] = result[j], result[i]
    return result`;

const FIT_BOX = `def fit_box(box, width, height):
    """The box clipped to the image, or None where detc skips it (no area, or > 1 px outside)."""
    x1, y1, x2, y2 = box
    if x2 <= x1 or y2 <= y1 or max(-x1, -y1, x2 - width, y2 - height) > 1:
        return None
    clipped = [max(0, x1), max(0, y1), min(width, x2), min(height, y2)]
    return clipped if clipped[2] > clipped[0] and clipped[3] > clipped[1] else None


def new_sample(sample_id, width, height, **source):
    return {"id": sample_id, "width": width, "height": height, "boxes": [], "labels": [], "iscrowd": [], "areas": [], **source}


def add_object(sample, box, label, iscrowd=False, area=None):
    fitted = fit_box(box, sample["width"], sample["height"])
    if fitted is not None:
        sample["boxes"].append(fitted)
        sample["labels"].append(label)
        sample["iscrowd"].append(iscrowd)
        sample["areas"].append((fitted[2] - fitted[0]) * (fitted[3] - fitted[1]) if area is None else area)`;

const COCO_SPLIT = `class Split:
    """COCO instances as detc reads them (src/data/coco.ts): every image in the file's order, labels 1..K
    in ascending category id, boxes [x, y, w, h] → [x1, y1, x2, y2] clipped as detc clips them."""

    def __init__(self, name):
        annotations, self.images = SPLITS[name]
        with open(annotations) as f:
            instances = json.load(f)
        categories = sorted(instances["categories"], key=lambda c: c["id"])
        self.class_names = [c["name"] for c in categories]
        label_of = {c["id"]: i + 1 for i, c in enumerate(categories)}
        by_id = {image["id"]: new_sample(image["id"], image["width"], image["height"], file=image["file_name"])
                 for image in instances["images"]}
        for a in instances["annotations"]:
            x, y, w, h = a["bbox"]
            add_object(by_id[a["image_id"]], [x, y, x + w, y + h], label_of[a["category_id"]], bool(a.get("iscrowd", 0)), a.get("area"))
        self.samples = list(by_id.values())

    def image(self, sample):
        return np.array(ImageOps.exif_transpose(Image.open(os.path.join(self.images, sample["file"]))).convert("RGB"))`;

const VOC_SPLIT = `class Split:
    """Pascal VOC as detc reads it (src/data/voc.ts): ImageSets/Main/<split>.txt, Annotations/<id>.xml and
    JPEGImages/<id>.jpg; 1-based inclusive boxes → [xmin − 1, ymin − 1, xmax, ymax], clipped as detc clips
    them; difficult objects are trained on."""

    class_names = CLASS_NAMES

    def __init__(self, name):
        with open(os.path.join(VOC_ROOT, "ImageSets", "Main", SPLITS[name] + ".txt")) as f:
            ids = [line.split()[0] for line in f if line.strip()]
        self.samples = [self.read_annotation(number, image_id) for number, image_id in enumerate(ids, 1)]

    @staticmethod
    def read_annotation(number, image_id):
        root = ElementTree.parse(os.path.join(VOC_ROOT, "Annotations", image_id + ".xml")).getroot()
        size = root.find("size")
        sample = new_sample(number, int(size.find("width").text), int(size.find("height").text), file=image_id + ".jpg")
        for obj in root.iter("object"):
            box = obj.find("bndbox")
            x1, y1, x2, y2 = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            add_object(sample, [x1 - 1, y1 - 1, x2, y2], CLASS_NAMES.index(obj.find("name").text.strip()) + 1)
        return sample

    def image(self, sample):
        return np.array(ImageOps.exif_transpose(Image.open(os.path.join(VOC_ROOT, "JPEGImages", sample["file"]))).convert("RGB"))`;

/** src/data/synthetic.ts in Python, in the same floating-point order, so the images are the same. */
const SYNTHETIC_SPLIT = `def hsv_to_rgb(hue, saturation, value):
    def channel(n):
        k = math.fmod(n + hue / 60, 6)
        return 255 * (value - value * saturation * max(0, min(k, 4 - k, 1)))

    return channel(5), channel(3), channel(1)


def draw_layout(random):
    """Up to 4 non-overlapping shapes, 12–45% of the side, aspect 0.8–1.25, in their class's colours."""
    shapes = []
    count = 1 + math.floor(random() * 4)
    for _ in range(50):
        if len(shapes) >= count:
            break
        side = uniform(random, 0.12, 0.45) * SYNTHETIC_SIDE
        aspect = math.exp(uniform(random, math.log(0.8), math.log(1.25)))
        width, height = side * math.sqrt(aspect), side / math.sqrt(aspect)
        x1, y1 = uniform(random, 0, SYNTHETIC_SIDE - width), uniform(random, 0, SYNTHETIC_SIDE - height)
        box = [x1, y1, x1 + width, y1 + height]
        shape = math.floor(random() * len(SHAPE_HUES))
        hue = math.fmod(SHAPE_HUES[shape] + uniform(random, -12, 12) + 360, 360)
        colour = hsv_to_rgb(hue, uniform(random, 0.65, 0.95), uniform(random, 0.75, 1))
        if all(not (o[0] < box[2] and box[0] < o[2] and o[1] < box[3] and box[1] < o[3]) for o, _, _ in shapes):
            shapes.append((box, shape, colour))
    return shapes


def shape_contains(shape, u, v):
    """Circle, square, triangle, cross in the unit box (detc's SHAPE_CLASSES)."""
    if shape == 0:
        return (u - 0.5) ** 2 + (v - 0.5) ** 2 <= 0.25
    if shape == 1:
        return np.ones(np.broadcast(u, v).shape, bool)
    if shape == 2:
        return np.abs(u - 0.5) * 2 <= v
    return (np.abs(u - 0.5) <= 1 / 6) | (np.abs(v - 0.5) <= 1 / 6)


def render(shapes, seed):
    """A dull wavy background, shapes antialiased with 4×4 samples a pixel, noise (detc's renderLayout)."""
    random = seeded_random(*seed)
    base = np.array(hsv_to_rgb(uniform(random, 0, 360), uniform(random, 0, 0.25), uniform(random, 0.2, 0.55)))
    y, x = np.mgrid[0:SYNTHETIC_SIDE, 0:SYNTHETIC_SIDE].astype(np.float64)
    wave = 0
    for _ in range(2):
        angle = uniform(random, 0, math.pi)
        radians = uniform(random, 2, 8) / SYNTHETIC_SIDE * 2 * math.pi
        dx, dy, phase = math.cos(angle) * radians, math.sin(angle) * radians, uniform(random, 0, 2 * math.pi)
        wave = wave + np.sin(x * dx + y * dy + phase)
    pixels = (base * (1 + (0.12 * wave) / 2)[..., None]).astype(np.float32)
    offsets = (np.arange(4) + 0.5) / 4
    for (x1, y1, x2, y2), shape, colour in shapes:
        xs, ys = np.arange(math.floor(x1), math.ceil(x2)), np.arange(math.floor(y1), math.ceil(y2))
        u = ((xs[:, None] + offsets) - x1) / (x2 - x1)
        v = ((ys[:, None] + offsets) - y1) / (y2 - y1)
        u, v = u[None, :, None, :], v[:, None, :, None]
        inside = (u >= 0) & (u <= 1) & (v >= 0) & (v <= 1) & shape_contains(shape, u, v)
        coverage = (inside.sum(axis=(2, 3)) / 16)[..., None]
        region = pixels[ys[0]:ys[-1] + 1, xs[0]:xs[-1] + 1]
        region[...] = region.astype(np.float64) * (1 - coverage) + np.array(colour) * coverage
    draws = seeded_randoms(pixels.size * 3, 9, *seed).reshape(-1, 3)
    noise = (draws[:, 0] + draws[:, 1] + draws[:, 2] - 1.5) * 16
    values = np.floor(pixels.reshape(-1).astype(np.float64) + noise + 0.5)
    return np.clip(values, 0, 255).astype(np.uint8).reshape(SYNTHETIC_SIDE, SYNTHETIC_SIDE, 3)


class Split:
    """detc's built-in synthetic set (src/data/synthetic.ts) from the same seed: the same boxes and the
    same pixels, drawn when an image is read."""

    class_names = ${pyList(SYNTHETIC_CLASS_NAMES.map(pyString))}

    def __init__(self, name):
        stream, count = SPLITS[name]
        self.samples = []
        for index in range(count):
            sample = new_sample(index + 1, SYNTHETIC_SIDE, SYNTHETIC_SIDE, shapes=draw_layout(seeded_random(SEED, stream, index)),
                                seed=(SEED, stream, index, 1))
            for box, shape, _ in sample["shapes"]:
                add_object(sample, box, shape + 1)
            self.samples.append(sample)

    def image(self, sample):
        return render(sample["shapes"], sample["seed"])`;

/** The side of the synthetic images: the spec's input, so the quick start never resizes (`src/train/datasets.ts`). */
function syntheticSide(spec: DetectorSpec): number {
  return spec.input.kind === "exact" ? Math.max(spec.input.height, spec.input.width) : spec.input.min;
}

export interface DatasetSection {
  readonly imports: string;
  /** Paths and names the split reader needs, as Python assignments. */
  readonly constants: string;
  /** `fit_box`, the `Split` class and its helpers. */
  readonly code: string;
}

export function datasetSection(spec: DetectorSpec): DatasetSection {
  const here = (path: string) => `os.path.join(HERE, ${pyString(path)})`;
  switch (spec.dataset.format) {
    case "coco": {
      const { train, val } = spec.dataset;
      const split = (s: { annotations: string; images: string }) => `(${here(s.annotations)}, ${here(s.images)})`;
      return {
        imports: "",
        constants: `# (annotations, images) of each split; without a val split detc evaluates on train.\nSPLITS = {"train": ${split(train)}, "val": ${split(val ?? train)}}`,
        code: `${FIT_BOX}\n\n\n${COCO_SPLIT}`,
      };
    }
    case "voc":
      return {
        imports: "from xml.etree import ElementTree\n",
        constants:
          `VOC_ROOT = ${here(spec.dataset.root)}\nSPLITS = {"train": ${pyString(spec.dataset.train)}, "val": ${pyString(spec.dataset.val)}}\n` +
          `CLASS_NAMES = ${pyList((spec.classes.names ?? VOC_CLASSES).map(pyString))}`,
        code: `${FIT_BOX}\n\n\n${VOC_SPLIT}`,
      };
    case "synthetic":
      return {
        imports: "",
        constants:
          `# detc's synthetic shapes (${SYNTHETIC_CLASS_NAMES.join(", ")}), ${syntheticSide(spec)} px square like the spec's input.\n` +
          `SYNTHETIC_SIDE = ${syntheticSide(spec)}\nSHAPE_HUES = [0, 120, 225, 50]\n` +
          `SPLITS = {"train": (0, ${SYNTHETIC_DEFAULTS.trainCount}), "val": (1, ${SYNTHETIC_DEFAULTS.valCount})}  # (stream, images)`,
        code: `${FIT_BOX}\n\n\n${SYNTHETIC_SPLIT}`,
      };
  }
}

/** `detc run`'s batches over the processes (src/data/loader.ts) and the images as the model takes them. */
export const BATCHES = `def steps_per_epoch(sample_count):
    return math.ceil(sample_count / BATCH_SIZE)


class StepBatches(torch.utils.data.Sampler):
    """This process's share of each of \`detc run\`'s batches (src/data/loader.ts). Epoch e visits the
    training samples in a shuffle seeded by (SEED, e); each step takes the next BATCH_SIZE of them (an
    epoch's last step what is left); process r of W takes positions [r·k/W, (r+1)·k/W) of a step's k
    images, each weighted W/k so that DDP's mean over processes is the mean over images. A process left
    without an image (only in an epoch's short last step, when k < W) runs the step's first image at
    weight 0, so that it still joins the gradient exchange."""

    def __init__(self, sample_count, rank, world_size, start_step, end_step):
        self.sample_count, self.rank, self.world_size = sample_count, rank, world_size
        self.start_step, self.end_step = start_step, end_step

    def __len__(self):
        return self.end_step - self.start_step

    def __iter__(self):
        per_epoch = steps_per_epoch(self.sample_count)
        order_epoch = order = None
        for step in range(self.start_step, self.end_step):
            if step // per_epoch != order_epoch:
                order_epoch = step // per_epoch
                order = shuffled(range(self.sample_count), seeded_random(SEED, order_epoch))
            start = (step % per_epoch) * BATCH_SIZE
            members = order[start:start + BATCH_SIZE]
            k = len(members)
            share = range(self.rank * k // self.world_size, (self.rank + 1) * k // self.world_size)
            yield [(members[p], step, p, self.world_size / k) for p in share] or [(members[0], step, 0, 0.0)]


class TrainingImages(torch.utils.data.Dataset):
    """Item (index, step, position, weight): training sample \`index\` as detc prepares position \`position\`
    of step \`step\` (flipped by the same seeded draw), crowd regions left out."""

    def __init__(self, split, indices):
        self.split, self.indices = split, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, item):
        index, step, position, weight = item
        sample = self.split.samples[self.indices[index]]
        image = F.to_tensor(self.split.image(sample))
        kept = [i for i, crowd in enumerate(sample["iscrowd"]) if not crowd]
        boxes = torch.tensor([sample["boxes"][i] for i in kept], dtype=torch.float64).reshape(-1, 4)
        random = seeded_random(hash_seed(SEED, step, position))
        random()  # detc draws a multi-scale size first
        if random() < FLIP:
            image = image.flip(-1)
            boxes[:, [0, 2]] = image.shape[-1] - boxes[:, [2, 0]]
        labels = torch.tensor([sample["labels"][i] for i in kept], dtype=torch.int64)
        return image, {"boxes": boxes.float(), "labels": labels}, weight


def collate(batch):
    return tuple(zip(*batch))`;
