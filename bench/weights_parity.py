"""torchvision's side of bench/weights-parity.ts: for each job, build the model (a module `detc emit
torchvision` wrote, or one of torchvision's stock builders), give it random weights (batch norms far
from the identity, each ResNet block's last one small as in trained ResNets; fixed seed; nothing is
downloaded), torch.save the state dict as its users would have it, and write the transform /
backbone / FPN / RPN-head outputs on the formula image (at the transform's own size, so nothing is
resized) as .npy, named as `detc forward` names them. Each output is also computed in float64;
float64-vs-float32 lands in OUT_DIR/rounding.json, so a golden that rounding alone moves is visible.

    python3 bench/weights_parity.py SEED (MODULE.py | stock:BUILDER) IMAGE_SIZE OUT_DIR […]
    python3 bench/weights_parity.py --check-export (MODULE.py | stock:BUILDER) FILE

Stock builders: `fasterrcnn_resnet50_fpn` is saved as torchvision's COCO file is, with the key
names of torchvision < 0.13 and batch norms at eps 0 (torchvision's overwrite_eps for COCO_V1);
`fasterrcnn_mobilenet_v3_large_fpn` with today's names, eps 1e-5.
"""
import copy
import importlib.util
import json
import os
import re
import sys

import numpy as np
import torch
import torchvision.models.detection as detection


def formula_image(size):
    """test/weights/support.ts's formulaImage: pixel (y, x, c) = (7x + 13y + 29c) mod 256."""
    y, x, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return torch.tensor(((7 * x + 13 * y + 29 * c) % 256).astype(np.float32) / 255).permute(2, 0, 1)


def last_in_block(keys):
    """Each ResNet block's last batch-norm weight (bn2 in a BasicBlock, bn3 in a Bottleneck)."""
    norms = {}
    for key in keys:
        match = re.search(r"^(.*layer\d+\.\d+\.)bn(\d)\.weight$", key)
        if match:
            norms[match.group(1)] = max(norms.get(match.group(1), 0), int(match.group(2)))
    return {f"{block}bn{index}.weight" for block, index in norms.items()}


def randomise(model):
    """Batch norms far from the identity and non-zero biases, so every loaded tensor matters."""
    with torch.no_grad():
        state = model.state_dict()
        small = last_in_block(state)
        for key, value in state.items():
            if not value.is_floating_point():
                continue
            if key in small:
                value.uniform_(0.1, 0.5)
            elif key.endswith("running_var") or key.endswith("layer_scale") or (key.endswith(".weight") and value.dim() == 1):
                value.uniform_(0.5, 1.5)
            elif key.endswith("running_mean") or key.endswith(".bias"):
                value.normal_(0, 0.1)


def pre_0_13(key):
    """torchvision < 0.13's names for the FPN's and RPN head's convs."""
    key = re.sub(r"^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.0\.(weight|bias)$", r"\1.\2", key)
    return re.sub(r"^rpn\.head\.conv\.0\.0\.(weight|bias)$", r"rpn.head.conv.\1", key)


def build(job):
    if job.startswith("stock:"):
        name = job[len("stock:"):]
        model = getattr(detection, name)(weights=None, weights_backbone=None)
        if name == "fasterrcnn_resnet50_fpn":
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.eps = 0.0
        return model.eval()
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(job))[0], job)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_model().eval()


def saved_state(job, model):
    state = model.state_dict()
    if job == "stock:fasterrcnn_resnet50_fpn":
        return {pre_0_13(k): v for k, v in state.items()}
    return state


def outputs(model, image):
    pyramid = hasattr(model.backbone, "fpn")
    with torch.no_grad():
        images, _ = model.transform([image])
        # The emitted body returns its taps as "0", "1", …; without an FPN the backbone itself does.
        body = model.backbone.body(images.tensors) if pyramid else model.backbone(images.tensors)
        if not isinstance(body, dict):
            body = {"0": body}
        levels = model.backbone.fpn(body) if pyramid else body
        objectness, deltas = model.rpn.head(list(levels.values()))
    result = {"input": images.tensors}
    result.update({f"body.{k}": v for k, v in body.items()})
    if pyramid:
        result.update({f"fpn.{k}": v for k, v in levels.items()})
    result.update({f"rpn.objectness.{k}": v for k, v in zip(levels, objectness)})
    result.update({f"rpn.bbox_deltas.{k}": v for k, v in zip(levels, deltas)})
    return result


def write_goldens(job, model, image, folder):
    torch.save(saved_state(job, model), os.path.join(folder, "model.pth"))
    single = outputs(model, image)
    double = outputs(copy.deepcopy(model).double(), image.double())
    rounding = {}
    for name, value in single.items():
        np.save(os.path.join(folder, f"{name}.npy"), value.numpy().astype(np.float32))
        rounding[name] = ((value.double() - double[name]).abs().max() / double[name].abs().max()).item()
    with open(os.path.join(folder, "rounding.json"), "w") as f:
        json.dump(rounding, f)


def check_export(job, path):
    model = build(job)
    state = torch.load(path)
    model.load_state_dict(state, strict=True)
    print(f"{len(state)} tensors, strict=True")


if __name__ == "__main__":
    if sys.argv[1] == "--check-export":
        check_export(sys.argv[2], sys.argv[3])
        sys.exit(0)
    seed, jobs = int(sys.argv[1]), sys.argv[2:]
    for job, size, folder in zip(jobs[::3], jobs[1::3], jobs[2::3]):
        torch.manual_seed(seed)
        model = build(job)
        randomise(model)
        write_goldens(job, model, formula_image(int(size)), folder)
