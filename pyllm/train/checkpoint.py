"""Training checkpoints: one safetensors file that holds everything needed to continue a run bit for bit.

    model.<name>                     the model's state dict (its weights, as ``model.state_dict()`` names them)
    optimizer.<position>.<name>      the optimizer's state tensors (AdamW: exp_avg, exp_avg_sq)
    __metadata__["pyllm.checkpoint"] JSON: step, config, optimizer options and step counts, the RNG states
                                     (pyllm's default generator, the NumPy data generator, Python's random),
                                     the metrics history

One file, written to a temporary file and renamed, is replaced atomically: a crash while saving leaves the
previous checkpoint whole. ``load_weights`` reads just the model's weights (for sampling or evaluation).
"""
import json
import os

from .. import _core
from ..io.safetensors import SafetensorsError, SafetensorsFile, save_file

KEY = "pyllm.checkpoint"
FORMAT_VERSION = 1
Tensor = _core.Tensor


def save_checkpoint(path, model, optimizer, state):
    """Writes ``model``'s and ``optimizer``'s state and ``state`` (a JSON-serializable dict) to ``path``."""
    tensors = {f"model.{name}": t for name, t in model.state_dict().items()}
    opt = optimizer.state_dict()
    scalars = {}
    for position, per_param in opt["state"].items():
        for name, value in per_param.items():
            if isinstance(value, Tensor):
                tensors[f"optimizer.{position}.{name}"] = value
            else:
                scalars.setdefault(str(position), {})[name] = value
    meta = dict(state, version=FORMAT_VERSION,
                optimizer={"param_groups": opt["param_groups"], "scalars": scalars})
    save_file(tensors, path, metadata={KEY: json.dumps(meta)})


def read_checkpoint(path):
    """(model state dict, optimizer state dict, state dict) of the checkpoint at ``path``; ValueError (or
    SafetensorsError, a ValueError) naming the file when it is not a whole pyllm checkpoint."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}")
    f = SafetensorsFile(path)
    raw = (f.metadata() or {}).get(KEY)
    if raw is None:
        raise SafetensorsError(f"{path}: not a pyllm training checkpoint (no {KEY!r} metadata)")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError as e:
        raise SafetensorsError(f"{path}: the checkpoint's {KEY!r} metadata is not valid JSON: {e}") from None
    if meta.get("version") != FORMAT_VERSION:
        raise SafetensorsError(f"{path}: checkpoint format version {meta.get('version')!r}, this pyllm reads "
                               f"{FORMAT_VERSION}")
    model_state, opt_state = {}, {}
    for name in f.keys():
        kind, _, rest = name.partition(".")
        if kind == "model":
            model_state[rest] = f.get(name)
        elif kind == "optimizer":
            position, _, field = rest.partition(".")
            opt_state.setdefault(int(position), {})[field] = f.get(name)
        else:
            raise SafetensorsError(f"{path}: unexpected tensor {name!r} in a checkpoint")
    for position, values in meta["optimizer"]["scalars"].items():
        opt_state.setdefault(int(position), {}).update(values)
    groups = [dict(g, betas=tuple(g["betas"])) if "betas" in g else g for g in meta["optimizer"]["param_groups"]]
    state = {k: v for k, v in meta.items() if k not in ("optimizer", "version")}
    return model_state, {"state": opt_state, "param_groups": groups}, state


def load_weights(path):
    """The model's state dict from a checkpoint (tensors map the file; load with ``model.load_state_dict``)."""
    return read_checkpoint(path)[0]
