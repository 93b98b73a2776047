/**
 * train.py's evaluation: every process predicts a share of the validation split, rank 0 scores
 * it with COCO's 12 numbers. The scorer is pycocotools' COCOeval for boxes ported to numpy in
 * the script (pycocotools is often not installed, and one scorer gives one answer); the tests
 * hold it to pycocotools' own numbers on detc's evaluation fixtures.
 */

export const COCO_EVALUATION = `IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
AREA_RANGES = [(0, 1e5**2), (0, 32**2), (32**2, 96**2), (96**2, 1e5**2)]  # all, small, medium, large
MAX_DETECTIONS = [1, 10, 100]


def box_ious(detections, truths, crowd):
    """pycocotools' bbox IoU ([x, y, w, h]); over a crowd region, intersection / detection area."""
    d, g = np.array(detections, float).reshape(-1, 4), np.array(truths, float).reshape(-1, 4)
    w = np.minimum(d[:, None, 2] + d[:, None, 0], g[None, :, 2] + g[None, :, 0]) - np.maximum(d[:, None, 0], g[None, :, 0])
    h = np.minimum(d[:, None, 3] + d[:, None, 1], g[None, :, 3] + g[None, :, 1]) - np.maximum(d[:, None, 1], g[None, :, 1])
    intersection = np.where((w > 0) & (h > 0), w * h, 0)
    detection_area, truth_area = (d[:, 2] * d[:, 3])[:, None], (g[:, 2] * g[:, 3])[None, :]
    union = np.where(crowd[None, :], detection_area, detection_area + truth_area - intersection)
    return np.where(intersection > 0, intersection / np.where(union > 0, union, 1), 0)


def evaluate_image(truths, detections, area):
    """pycocotools' evaluateImg for one image, category and area range: greedy matching by score at each
    IoU threshold; crowd regions and objects outside the area range are ignored."""
    if not truths and not detections:
        return None
    ignored = np.array([t["iscrowd"] or not area[0] <= t["area"] <= area[1] for t in truths], bool)
    order = np.argsort(ignored, kind="mergesort")
    truths, ignored = [truths[i] for i in order], ignored[order]
    crowd = np.array([t["iscrowd"] for t in truths], bool)
    detections = sorted(detections, key=lambda d: -d["score"])[:MAX_DETECTIONS[-1]]
    ious = box_ious([d["bbox"] for d in detections], [t["bbox"] for t in truths], crowd)
    taken = np.zeros((len(IOU_THRESHOLDS), len(truths)), bool)
    matched = np.zeros((len(IOU_THRESHOLDS), len(detections)), bool)
    skipped = np.zeros((len(IOU_THRESHOLDS), len(detections)), bool)
    for t, threshold in enumerate(IOU_THRESHOLDS):
        for d in range(len(detections)):
            best, m = min(threshold, 1 - 1e-10), -1
            for g in range(len(truths)):
                if taken[t, g] and not crowd[g]:
                    continue
                if m > -1 and not ignored[m] and ignored[g]:
                    break
                if ious[d, g] < best:
                    continue
                best, m = ious[d, g], g
            if m > -1:
                skipped[t, d], matched[t, d], taken[t, m] = ignored[m], True, True
    areas = np.array([d["bbox"][2] * d["bbox"][3] for d in detections])
    skipped |= ~matched & ((areas < area[0]) | (areas > area[1]))[None, :]
    return {"scores": np.array([d["score"] for d in detections]), "matched": matched, "skipped": skipped, "ignored": ignored}


def coco_stats(samples, detections):
    """COCO's AP and AR numbers (pycocotools' accumulate and summarize) for [x, y, w, h] detections."""
    truths, found = {}, {}
    for s in samples:
        for (x1, y1, x2, y2), label, crowd, area in zip(s["boxes"], s["labels"], s["iscrowd"], s["areas"]):
            truths.setdefault((s["id"], label), []).append({"bbox": [x1, y1, x2 - x1, y2 - y1], "iscrowd": crowd, "area": area})
    for d in detections:
        found.setdefault((d["image_id"], d["category_id"]), []).append(d)
    classes = range(1, NUM_CLASSES)
    samples = sorted(samples, key=lambda s: s["id"])  # pycocotools' image order, which breaks score ties
    precision = -np.ones((len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(classes), len(AREA_RANGES), len(MAX_DETECTIONS)))
    recall = -np.ones((len(IOU_THRESHOLDS), len(classes), len(AREA_RANGES), len(MAX_DETECTIONS)))
    for k, label in enumerate(classes):
        for a, area in enumerate(AREA_RANGES):
            images = [evaluate_image(truths.get((s["id"], label), []), found.get((s["id"], label), []), area) for s in samples]
            images = [e for e in images if e is not None]
            truth_count = sum(int(np.count_nonzero(~e["ignored"])) for e in images)
            if truth_count == 0:
                continue
            for m, most in enumerate(MAX_DETECTIONS):
                order = np.argsort(-np.concatenate([e["scores"][:most] for e in images]), kind="mergesort")
                matched = np.concatenate([e["matched"][:, :most] for e in images], axis=1)[:, order]
                skipped = np.concatenate([e["skipped"][:, :most] for e in images], axis=1)[:, order]
                true_positives = np.cumsum(matched & ~skipped, axis=1).astype(float)
                false_positives = np.cumsum(~matched & ~skipped, axis=1).astype(float)
                for t in range(len(IOU_THRESHOLDS)):
                    tp, fp = true_positives[t], false_positives[t]
                    rc, pr = tp / truth_count, tp / (fp + tp + np.spacing(1))
                    recall[t, k, a, m] = rc[-1] if len(tp) else 0
                    pr = np.maximum.accumulate(pr[::-1])[::-1]
                    at = np.searchsorted(rc, RECALL_THRESHOLDS, side="left")
                    precision[t, :, k, a, m] = np.where(at < len(pr), pr[np.minimum(at, len(pr) - 1)] if len(pr) else 0, 0)

    def mean(values):
        values = values[values > -1]
        return float(np.mean(values)) if values.size else -1.0

    ap = lambda a, t=slice(None): mean(precision[t, :, :, a, 2])
    ar = lambda a, m: mean(recall[:, :, a, m])
    return {"AP": ap(0), "AP50": ap(0, [0]), "AP75": ap(0, [5]), "APs": ap(1), "APm": ap(2), "APl": ap(3),
            "AR1": ar(0, 0), "AR10": ar(0, 1), "AR100": ar(0, 2), "ARs": ar(1, 2), "ARm": ar(2, 2), "ARl": ar(3, 2)}


class ValidationImages(torch.utils.data.Dataset):
    def __init__(self, split, indices):
        self.split, self.indices = split, indices

    def __len__(self):
        return len(self.indices)

    def __getitem__(self, item):
        sample = self.split.samples[self.indices[item]]
        return sample["id"], F.to_tensor(self.split.image(sample))


def evaluate(model, split, device, rank, world_size, batch_size, workers):
    """Every process predicts every world_size-th validation image; rank 0 scores them all (others get None)."""
    model.eval()
    detections = []
    images = ValidationImages(split, range(rank, len(split.samples), world_size))
    # Its own generator: the global one holds the RPN's and box head's sampling draws, which a resumed run restores.
    loader = torch.utils.data.DataLoader(images, batch_size=batch_size, num_workers=workers, collate_fn=collate,
                                         worker_init_fn=quiet_worker, generator=torch.Generator())
    with torch.no_grad():
        for ids, batch in loader:
            for image_id, p in zip(ids, model([image.to(device) for image in batch])):
                for (x1, y1, x2, y2), score, label in zip(p["boxes"].tolist(), p["scores"].tolist(), p["labels"].tolist()):
                    detections.append({"image_id": image_id, "category_id": label, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": score})
    if world_size > 1:
        parts = [None] * world_size
        dist.all_gather_object(parts, detections)
        detections = [d for part in parts for d in part]
    return coco_stats(split.samples, detections) if rank == 0 else None`;
