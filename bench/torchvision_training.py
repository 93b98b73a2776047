"""The torchvision side of bench/training.ts: one config's training steps and inference, in a
process of its own so that the peak RSS it reports is this run's alone.

The model is the module `detc emit torchvision` wrote for the config (`model.py`), trained the
way the emitted `train.py` trains it (frozen batch norm, weight decay off norm layers, SGD with
the spec's momentum; the job's learning rate, the same as detc's): both are imported from the
job's folder. Random weights only.

    python3 torchvision_training.py JOB_JSON                    # a measurement; one JSON line on stdout
    python3 torchvision_training.py --initial-weights DIR FILE  # DIR's model freshly initialised, saved for both sides
    python3 torchvision_training.py --environment N             # torch's build, BLAS, matmul and page-fault speed at N threads
"""
import json
import math
import os
import resource
import sys
import time

import torch
import torchvision


def set_threads(threads):
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(threads)


def environment(threads):
    set_threads(threads)
    with open("/proc/self/maps") as maps:
        blas = sorted({os.path.realpath(line.split()[-1]) for line in maps if "blas" in line.lower()})
    size = 2048
    a, b = torch.randn(size, size), torch.randn(size, size)
    for _ in range(2):
        a @ b
    runs = 5
    started = time.perf_counter()
    for _ in range(runs):
        a @ b
    seconds = (time.perf_counter() - started) / runs
    # What a page fault costs: filling memory the allocator maps afresh, then the same memory again.
    fill_bytes = 256 * 2**20
    started = time.perf_counter()
    fresh = torch.empty(fill_bytes // 4).fill_(1.0)
    fresh_seconds = time.perf_counter() - started
    started = time.perf_counter()
    fresh.fill_(2.0)
    touched_seconds = time.perf_counter() - started
    del fresh
    # "  - Build settings: BLAS_INFO=generic, …" and "  - Intel(R) MKL-DNN v2.6.3 (…)"
    settings = [line.strip().removeprefix("- ").removeprefix("Build settings: ") for line in torch.__config__.show().splitlines()]
    return {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_libraries": blas,
        "build": [item for line in settings for item in line.split(", ") if "BLAS_INFO" in item or "MKL-DNN" in item],
        "mkldnn": torch.backends.mkldnn.is_available(),
        "matmul_gflops": 2 * size**3 / seconds / 1e9,
        "fresh_fill_gbs": fill_bytes / fresh_seconds / 1e9,
        "touched_fill_gbs": fill_bytes / touched_seconds / 1e9,
    }


def import_emitted(module_dir):
    """The emitted model.py and train.py (its settings and helpers; its main() is not run)."""
    sys.path.insert(0, module_dir)
    import model
    import train

    return model, train


def save_initial_weights(module_dir, path):
    emitted_model, emitted_train = import_emitted(module_dir)
    torch.manual_seed(emitted_train.SEED)
    torch.save(emitted_model.create_model().state_dict(), path)


def load_inputs(path):
    with open(path) as f:
        inputs = json.load(f)
    size, count = inputs["size"], len(inputs["boxes"])
    with open(inputs["pixels"], "rb") as f:
        pixels = torch.frombuffer(bytearray(f.read()), dtype=torch.uint8).reshape(count, size, size, 3)
    images = [image.permute(2, 0, 1).float().div(255) for image in pixels]
    targets = [
        {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "labels": torch.tensor(labels, dtype=torch.int64)}
        for boxes, labels in zip(inputs["boxes"], inputs["labels"])
    ]
    return images, targets


def measure(job):
    set_threads(job["threads"])
    emitted_model, emitted_train = import_emitted(job["moduleDir"])
    images, targets = load_inputs(job["inputs"])
    model = emitted_model.create_model()
    model.load_state_dict(torch.load(job["initialWeights"]))
    model = emitted_train.prepare_model(model, 1, torch.device("cpu"), 0)
    optimizer = torch.optim.SGD(emitted_train.parameter_groups(model), lr=job["lr"], momentum=emitted_train.MOMENTUM)

    # Proposals per image of the last forward pass, to check both sides keep as many.
    proposals = []
    model.rpn.register_forward_hook(lambda _module, _inputs, output: proposals.__setitem__(slice(None), [len(b) for b in output[0]]))

    model.train()
    emitted_train.use_running_statistics_where_frozen(model)
    train_ms, train_cpu_ms, all_finite, losses = [], [], True, {}
    for step in range(job["warmupSteps"] + job["steps"]):
        wall, cpu = time.perf_counter(), time.process_time()
        loss_parts = model(images, targets)
        loss = sum(loss_parts.values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step >= job["warmupSteps"]:
            train_ms.append((time.perf_counter() - wall) * 1000)
            train_cpu_ms.append((time.process_time() - cpu) * 1000)
        losses = {name: value.item() for name, value in loss_parts.items()}
        all_finite = all_finite and all(math.isfinite(v) for v in losses.values())
    # JSON has no NaN: a loss that is not finite becomes null, as JSON.stringify writes it.
    losses = {name: value if math.isfinite(value) else None for name, value in losses.items()}
    train_proposals = list(proposals)

    model.eval()
    infer_ms, detections = [], []
    with torch.no_grad():
        for run in range(1 + job["inferenceRuns"]):
            wall = time.perf_counter()
            detections = [len(output["boxes"]) for output in model(images)]
            if run > 0:
                infer_ms.append((time.perf_counter() - wall) * 1000)

    return {
        "engine": f"torchvision {torchvision.__version__} (torch {torch.__version__})",
        "threads": torch.get_num_threads(),
        "trainMs": train_ms,
        "trainCpuMs": train_cpu_ms,
        "inferMs": infer_ms,
        "losses": losses,
        "allFinite": all_finite,
        "images": len(images),
        "boxes": sum(len(t["boxes"]) for t in targets),
        "proposals": {"train": train_proposals, "test": list(proposals)},
        "detections": detections,
        "maxRssKb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "settings": {
            "rpn_pre_nms_top_n": model.rpn._pre_nms_top_n,
            "rpn_post_nms_top_n": model.rpn._post_nms_top_n,
            "box_batch_size_per_image": model.roi_heads.fg_bg_sampler.batch_size_per_image,
        },
    }


if __name__ == "__main__":
    if sys.argv[1] == "--environment":
        print(json.dumps(environment(int(sys.argv[2]))))
    elif sys.argv[1] == "--initial-weights":
        save_initial_weights(sys.argv[2], sys.argv[3])
    else:
        print(json.dumps(measure(json.loads(sys.argv[1]))))
