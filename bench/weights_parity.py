"""torchvision's side of bench/weights-parity.ts: for each module `detc emit torchvision` wrote,
build its model, give it random weights (non-trivial batch norms, fixed seed; nothing is
downloaded), torch.save the state dict and write the transform / backbone / FPN / RPN-head outputs
on the formula image as .npy, named as `detc forward` names them.

    python3 bench/weights_parity.py IMAGE_SIZE SEED MODULE.py OUT_DIR [MODULE.py OUT_DIR …]
"""
import importlib.util
import os
import sys

import numpy as np
import torch


def formula_image(size):
    """test/weights/support.ts's formulaImage: pixel (y, x, c) = (7x + 13y + 29c) mod 256."""
    y, x, c = np.meshgrid(np.arange(size), np.arange(size), np.arange(3), indexing="ij")
    return torch.tensor(((7 * x + 13 * y + 29 * c) % 256).astype(np.float32) / 255).permute(2, 0, 1)


def randomise(model):
    """Batch norms far from the identity and non-zero biases, so every loaded tensor matters."""
    with torch.no_grad():
        for key, value in model.state_dict().items():
            if not value.is_floating_point():
                continue
            if key.endswith("running_var") or key.endswith("layer_scale") or (key.endswith(".weight") and value.dim() == 1):
                value.uniform_(0.5, 1.5)
            elif key.endswith("running_mean") or key.endswith(".bias"):
                value.normal_(0, 0.1)


def emitted_model(path):
    spec = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.create_model().eval()


def write_goldens(model, image, folder):
    torch.save(model.state_dict(), os.path.join(folder, "model.pth"))
    pyramid = hasattr(model.backbone, "fpn")
    with torch.no_grad():
        images, _ = model.transform([image])
        # The emitted body returns its taps as "0", "1", …, the levels the RPN sees without an FPN;
        # a `features` body without an FPN is the backbone itself (keys `backbone.<i>`).
        body = model.backbone.body(images.tensors) if pyramid else model.backbone(images.tensors)
        levels = model.backbone.fpn(body) if pyramid else body
        objectness, deltas = model.rpn.head(list(levels.values()))
    outputs = {"input": images.tensors}
    outputs.update({f"body.{k}": v for k, v in body.items()})
    if pyramid:
        outputs.update({f"fpn.{k}": v for k, v in levels.items()})
    outputs.update({f"rpn.objectness.{k}": v for k, v in zip(levels, objectness)})
    outputs.update({f"rpn.bbox_deltas.{k}": v for k, v in zip(levels, deltas)})
    for name, value in outputs.items():
        np.save(os.path.join(folder, f"{name}.npy"), value.numpy().astype(np.float32))


if __name__ == "__main__":
    size, seed, jobs = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    for module_path, folder in zip(jobs[::2], jobs[1::2]):
        torch.manual_seed(seed)
        model = emitted_model(module_path)
        randomise(model)
        write_goldens(model, formula_image(size), folder)
