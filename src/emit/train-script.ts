/**
 * `detc emit torchvision --train-script`: a `train.py` that trains the emitted model on the spec's
 * COCO or VOC dataset with torch.distributed (one process per device under torchrun, gloo on CPU,
 * nccl on GPU), with the spec's train settings as torchvision's detection reference applies them,
 * and saves `model.state_dict()` (torchvision's keys) for `detc` to load back. Pure: a spec in,
 * Python source out; dataset paths must already be relative to the script's folder.
 */
import type { DetectorSpec } from "../check/detector-spec.js";
import { SETTINGS } from "../check/settings.js";
import { pyList, pyNumber, pyString } from "./python.js";

/** VOC's 20 classes in the devkit's order (labels 1..20), as `src/data/voc.ts` uses them. */
const VOC_CLASSES = [
  "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
  "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train", "tvmonitor",
];

/** The datasets train.py can read; the built-in synthetic set exists only inside detc. */
export const trainableDataset = (spec: DetectorSpec): boolean => spec.dataset.format !== "synthetic";

function trainSettings(spec: DetectorSpec): string {
  return Object.entries(spec.settings.train)
    .map(([key, value]) => {
      const setting = SETTINGS.train[key]!;
      const literal =
        typeof value === "boolean"
          ? (value ? "True" : "False")
          : Array.isArray(value)
            ? pyList(value.map((v) => pyNumber(v)))
            : pyNumber(value as number, setting.type === "number");
      return `${key.toUpperCase()} = ${literal}  # ${setting.doc}`;
    })
    .join("\n");
}

const COCO_DATASET = `class Dataset(torch.utils.data.Dataset):
    """COCO instances as detc reads them: category ids become labels 1..K in ascending id order,
    boxes [x, y, w, h] become [x1, y1, x2, y2], crowd and empty boxes and unannotated images are
    left out of training."""

    def __init__(self):
        with open(ANNOTATIONS) as f:
            instances = json.load(f)
        label_of = {c["id"]: i + 1 for i, c in enumerate(sorted(instances["categories"], key=lambda c: c["id"]))}
        boxes = {}
        for a in instances["annotations"]:
            x, y, w, h = a["bbox"]
            if a.get("iscrowd", 0) or w <= 0 or h <= 0:
                continue
            boxes.setdefault(a["image_id"], []).append(([x, y, x + w, y + h], label_of[a["category_id"]]))
        self.samples = [
            (os.path.join(IMAGES, image["file_name"]), boxes[image["id"]])
            for image in instances["images"]
            if image["id"] in boxes
        ]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, objects = self.samples[index]
        return load(path, [box for box, _ in objects], [label for _, label in objects])`;

const VOC_DATASET = `class Dataset(torch.utils.data.Dataset):
    """Pascal VOC as detc reads it: ImageSets/Main/<split>.txt, Annotations/<id>.xml and
    JPEGImages/<id>.jpg; difficult objects are trained on; boxes are 1-based inclusive pixels."""

    def __init__(self):
        with open(os.path.join(VOC_ROOT, "ImageSets", "Main", SPLIT + ".txt")) as f:
            self.ids = [line.split()[0] for line in f if line.strip()]

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        image_id = self.ids[index]
        root = ElementTree.parse(os.path.join(VOC_ROOT, "Annotations", image_id + ".xml")).getroot()
        boxes, labels = [], []
        for obj in root.iter("object"):
            box = obj.find("bndbox")
            x1, y1, x2, y2 = (float(box.find(k).text) for k in ("xmin", "ymin", "xmax", "ymax"))
            boxes.append([x1 - 1, y1 - 1, x2, y2])
            labels.append(CLASS_NAMES.index(obj.find("name").text.strip()) + 1)
        return load(os.path.join(VOC_ROOT, "JPEGImages", image_id + ".jpg"), boxes, labels)`;

function datasetSection(spec: DetectorSpec): { constants: string; code: string; imports: string } {
  switch (spec.dataset.format) {
    case "coco":
      return {
        constants:
          `ANNOTATIONS = os.path.join(HERE, ${pyString(spec.dataset.train.annotations)})\n` +
          `IMAGES = os.path.join(HERE, ${pyString(spec.dataset.train.images)})`,
        code: COCO_DATASET,
        imports: "",
      };
    case "voc":
      return {
        constants:
          `VOC_ROOT = os.path.join(HERE, ${pyString(spec.dataset.root)})\nSPLIT = ${pyString(spec.dataset.train)}\n` +
          `CLASS_NAMES = ${pyList((spec.classes.names ?? VOC_CLASSES).map(pyString))}`,
        code: VOC_DATASET,
        imports: "from xml.etree import ElementTree\n",
      };
    case "synthetic":
      throw new Error("train.py reads COCO or VOC datasets only");
  }
}

export function emitTrainScript(spec: DetectorSpec, moduleName: string): string {
  const dataset = datasetSection(spec);
  return `"""Trains \`${spec.name}\` (${moduleName}.py) on its ${spec.dataset.format.toUpperCase()} dataset, generated by \`detc emit torchvision\`.

One process per device with torch.distributed (nccl on GPUs, gloo on CPU):

    torchrun --nproc_per_node=N train.py                 # one machine
    torchrun --nnodes=M --node_rank=R --nproc_per_node=N \\\\
        --master_addr=HOST --master_port=29500 train.py  # M machines
    python3 train.py                                     # one process, no torchrun

Rank 0 prints one JSON line per step and writes OUT/model.pth, \`model.state_dict()\` with
torchvision's keys, every CHECKPOINT_EVERY steps and after each epoch (\`detc\` loads it back).
"""
import argparse
import json
import math
import os
import sys
import time
${dataset.imports}
import torch
import torch.distributed as dist
import torchvision.transforms.functional as F
from PIL import Image
from torch import nn
from torch.nn.parallel import DistributedDataParallel

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from ${moduleName} import create_model  # noqa: E402

${trainSettings(spec)}

${dataset.constants}


def load(path, boxes, labels):
    image = F.to_tensor(Image.open(path).convert("RGB"))
    target = {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }
    if torch.rand(1).item() < FLIP:
        image = image.flip(-1)
        width = image.shape[-1]
        target["boxes"][:, [0, 2]] = width - target["boxes"][:, [2, 0]]
    return image, target


${dataset.code}


def start_processes():
    """(rank, world size, device): torchrun sets RANK and friends; without them, one process."""
    cuda = torch.cuda.is_available()
    if "RANK" not in os.environ:
        return 0, 1, torch.device("cuda" if cuda else "cpu")
    dist.init_process_group("nccl" if cuda else "gloo")
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    return dist.get_rank(), dist.get_world_size(), torch.device("cuda" if cuda else "cpu")


def freeze_batch_norm(model):
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.requires_grad_(False)


def use_running_statistics_where_frozen(model):
    """A frozen batch norm (FROZEN_BATCH_NORM or a frozen stage) is a fixed function, as in detc."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and not module.weight.requires_grad:
            module.eval()


def parameter_groups(model):
    """Weight decay everywhere but on normalisation layers' parameters."""
    norm, other = [], []
    for module in model.modules():
        is_norm = isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm, nn.LayerNorm))
        for parameter in module.parameters(recurse=False):
            if parameter.requires_grad:
                (norm if is_norm else other).append(parameter)
    return [{"params": other, "weight_decay": WEIGHT_DECAY}, {"params": norm, "weight_decay": 0.0}]


def learning_rate_factor(step, steps_per_epoch):
    """torchvision's reference schedule: linear warm-up over WARMUP_STEPS, then ×LR_GAMMA after each epoch in LR_STEPS."""
    epoch = step // steps_per_epoch
    factor = LR_GAMMA ** sum(epoch >= e for e in LR_STEPS)
    if step < WARMUP_STEPS:
        alpha = step / WARMUP_STEPS
        factor *= WARMUP_FACTOR * (1 - alpha) + alpha
    return factor


def save(model, out):
    """Written aside and renamed, so a run killed mid-write keeps the previous checkpoint."""
    path = os.path.join(out, "model.pth")
    torch.save(model.state_dict(), path + ".tmp")
    os.replace(path + ".tmp", path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(HERE, "checkpoints"), help="folder for model.pth")
    parser.add_argument("--max-steps", type=int, help="stop after this many steps (a smoke test)")
    args = parser.parse_args()

    rank, world_size, device = start_processes()
    # The same seed everywhere: every process starts from the same weights.
    torch.manual_seed(SEED)
    model = create_model()
    if FROZEN_BATCH_NORM:
        freeze_batch_norm(model)
    model.to(device)
    trained = DistributedDataParallel(model) if world_size > 1 else model

    dataset = Dataset()
    # BATCH_SIZE images per step in all, split over the processes (the learning rate is tuned for it).
    per_process = max(1, BATCH_SIZE // world_size)
    sampler = torch.utils.data.DistributedSampler(dataset, world_size, rank, shuffle=True, seed=SEED)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=per_process, sampler=sampler, collate_fn=lambda batch: tuple(zip(*batch))
    )
    # A different flip sequence per process; the same one on every run.
    torch.manual_seed(SEED + rank)

    optimizer = torch.optim.SGD(parameter_groups(model), lr=LR, momentum=MOMENTUM)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: learning_rate_factor(step, len(loader)))
    if rank == 0:
        os.makedirs(args.out, exist_ok=True)

    step = 0
    for epoch in range(EPOCHS):
        sampler.set_epoch(epoch)
        trained.train()
        use_running_statistics_where_frozen(model)
        for images, targets in loader:
            started = time.time()
            images = [image.to(device) for image in images]
            targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
            losses = trained(images, targets)
            loss = sum(losses.values())
            if not math.isfinite(loss.item()):
                sys.exit(f"step {step + 1}: the loss is {loss.item()}; stopping (the last checkpoint is kept)")
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            if rank == 0:
                numbers = {k: round(v.item(), 5) for k, v in losses.items()}
                print(json.dumps({"step": step, "epoch": epoch, "lr": scheduler.get_last_lr()[0], **numbers,
                                  "seconds": round(time.time() - started, 3)}), flush=True)
            scheduler.step()
            if rank == 0 and step % CHECKPOINT_EVERY == 0:
                save(model, args.out)
            if step == args.max_steps:
                break
        if rank == 0:
            save(model, args.out)
        if step == args.max_steps:
            break
    if world_size > 1:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
`;
}
