/**
 * train.py's state on disk: starting weights (`--init`, in the layouts detc reads), the full
 * training state written atomically for `--resume`, `model.pth` for detc to load back, and
 * `metrics.jsonl` in `detc run`'s format.
 */

export const INITIAL_WEIGHTS = `SAFETENSORS_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}


def read_state_dict(path):
    """A state dict from torch.save (plain, or wrapped as {"model": …} / {"state_dict": …}) or .safetensors."""
    if path.endswith(".safetensors"):
        with open(path, "rb") as f:
            data = f.read()
        (length,) = struct.unpack("<Q", data[:8])
        header = json.loads(data[8:8 + length])
        if header.get("__metadata__", {}).get("format") == "detc-checkpoint":
            fail(1, f"{path} is a \`detc run\` checkpoint (TensorFlow.js layouts); convert it first: "
                    f"detc export SPEC.det --weights {path} -o model.pth")
        body = data[8 + length:]
        return {name: torch.frombuffer(bytearray(body[slice(*entry["data_offsets"])]), dtype=SAFETENSORS_DTYPES[entry["dtype"]])
                .reshape(entry["shape"]) for name, entry in header.items() if name != "__metadata__"}
    state = torch.load(path, map_location="cpu")
    for wrapper in ("model", "state_dict"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    return state


# How torchvision's builders, the tutorial and detc export name a \`features\` body: each name is
# tried in this model's naming.
BODY_NAMINGS = ["backbone.body.features.", "backbone.body.", "backbone.features.", "backbone."]


def own_name(key, own):
    if key in own:
        return key
    for naming in BODY_NAMINGS:
        if key.startswith(naming):
            for other in BODY_NAMINGS:
                if other + key[len(naming):] in own:
                    return other + key[len(naming):]
    return key


def load_initial_weights(model, path, rank):
    """Every tensor the model needs from the file, or the run stops with a report. A box predictor made
    for another class count stays freshly initialised (the tutorial's fine-tuning recipe), as in detc."""
    own = model.state_dict()
    state = {own_name(key, own): tensor for key, tensor in read_state_dict(path).items()}
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    mismatched = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    other_classes = bool(mismatched) and all(k.startswith("roi_heads.box_predictor.") for k in mismatched)
    if missing or (mismatched and not other_classes):
        shapes = [f"{k}: file {list(state[k].shape)} vs model {list(own[k].shape)}" for k in mismatched]
        listed = "; ".join([*(f"missing {k}" for k in missing[:5]), *shapes[:5]])
        fail(1, f"--init {path} does not fit this model ({len(missing)} missing, {len(mismatched)} of another shape): {listed}")
    loaded = {k: v for k, v in state.items() if k in own and k not in mismatched}
    model.load_state_dict(loaded, strict=False)
    if rank == 0:
        note = " (the box predictor is for another class count: it stays freshly initialised)" if other_classes else ""
        extra = f"; {len(unexpected)} tensors this model has no place for (e.g. {unexpected[0]})" if unexpected else ""
        print(f"--init {path}: {len(loaded)} tensors loaded{note}{extra}", file=sys.stderr, flush=True)`;

export const CHECKPOINTS = `CHECKPOINT_FILE = "checkpoint.pth"
WEIGHTS_FILE = "model.pth"
METRICS_FILE = "metrics.jsonl"


def write_atomically(value, path):
    """Written aside, synced and renamed: a file on disk is always a complete one."""
    temporary = f"{path}.tmp-{os.getpid()}"
    with open(temporary, "wb") as f:
        torch.save(value, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, path)


def random_state(device):
    return {"torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state(device) if device.type == "cuda" else None}


def save_checkpoint(out, model, optimizer, scaler, step, per_epoch, rank, world_size, device):
    """The whole training state (every process's random state gathered to rank 0), then the weights alone
    for detc (\`model.state_dict()\`, torchvision's keys). The schedule and the batches are functions of
    the step, so the step is their state."""
    states = [None] * world_size
    if world_size > 1:
        dist.all_gather_object(states, random_state(device))
    else:
        states = [random_state(device)]
    if rank == 0:
        write_atomically({
            "format": "detc-train.py", "detector": DETECTOR, "step": step, "epoch": step // per_epoch,
            "batch_size": BATCH_SIZE, "world_size": world_size, "model": model.state_dict(),
            "optimizer": optimizer.state_dict(), "scaler": scaler.state_dict() if scaler else None, "random": states,
        }, os.path.join(out, CHECKPOINT_FILE))
        write_atomically(model.state_dict(), os.path.join(out, WEIGHTS_FILE))


def load_checkpoint(path, model, optimizer, scaler, rank, world_size, device):
    """Continues exactly where the checkpoint was written; returns its step."""
    state = torch.load(path, map_location="cpu")
    if not isinstance(state, dict) or state.get("format") != "detc-train.py":
        fail(1, f"{path} is not a checkpoint of train.py")
    if state["detector"] != DETECTOR or state["batch_size"] != BATCH_SIZE:
        fail(1, f"{path} was written for detector \`{state['detector']}\` with batch_size {state['batch_size']}, "
                f"not \`{DETECTOR}\` with {BATCH_SIZE}; start a new --out")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    if scaler:
        scaler.load_state_dict(state["scaler"])
    if len(state["random"]) == world_size:
        torch.set_rng_state(state["random"][rank]["torch"])
        if device.type == "cuda" and state["random"][rank]["cuda"] is not None:
            torch.cuda.set_rng_state(state["random"][rank]["cuda"], device)
    elif rank == 0:
        print(f"note: {path} was written by {len(state['random'])} processes, this run has {world_size}: the batches "
              "are the same, the RPN's and box head's sampling draws are new", file=sys.stderr, flush=True)
    return state["step"]


class MetricsLog:
    """\`detc run\`'s metrics.jsonl: one JSON object a line per step and per evaluation (\`detc plot\` draws it)."""

    def __init__(self, path):
        self.path = path

    def append(self, record):
        """Appended, and printed for whoever watches the run."""
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\\n")
        print(json.dumps(record), flush=True)

    def truncate_after(self, step):
        """On resume: records past the checkpoint's step are redone; a line cut short by a kill goes."""
        kept = []
        if os.path.exists(self.path):
            with open(self.path) as f:
                for line in f:
                    try:
                        if json.loads(line)["step"] <= step:
                            kept.append(line if line.endswith("\\n") else line + "\\n")
                    except (ValueError, KeyError):
                        pass
        with open(self.path + ".tmp", "w") as f:
            f.writelines(kept)
        os.replace(self.path + ".tmp", self.path)`;
