"""Checkpoints: the only code that knows their format, for every model family.

A checkpoint is one `torch.save`d dict:

    format    "seqlm-checkpoint"          tells a seqlm file from any other torch file
    version   2                           bumped when the layout changes incompatibly
    kind      "lm" | "seq2seq"            which family of model it holds
    config    the resolved training config (TrainConfig or Seq2SeqConfig) as a dict
    vocab     the vocabulary (Vocab, or PairVocabs for seq2seq) as a dict
    model     the model's state dict
    step      optimiser updates done
    metrics   the validation scores of these weights, if they were scored
    data      what the training data was (its sha256), to refuse resuming on other data
    training  only in `last.pt`: optimiser, schedule, loss scaler, position, RNG states, the
              task's own state (data position, carried state, sampling coins), history

A run directory holds `last.pt` (resumable) and `best.pt` (the weights at the best
validation score; what eval, sample and translate load). Contents are restricted to what
`torch.load(weights_only=True)` accepts, so loading never runs pickled code. Files are
written atomically (`seqlm.atomic`), serialised in memory first so a full disk fails as a
plain, named OS error. `load` reads a file once, rebuilds the model (`seqlm.nn.build`) on any
device whatever device wrote it, and returns one `Loaded`. Version-1 files (seqlm before the
one engine) load for evaluation and sampling, not for resuming. A folder `seqlm export` wrote
(config.json + model.safetensors, `seqlm.hf_folder`) loads wherever a run directory does,
without unpickling anything: a `.pt` beside its files is never opened.
Leaves out: sharded files.
"""

import errno
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from seqlm.atomic import atomic_write
from seqlm.config import Seq2SeqConfig, TrainConfig, from_dict
from seqlm.data.pairs import PairVocabs
from seqlm.data.vocab import Vocab
from seqlm.errors import SeqlmError
from seqlm.hf_folder import WEIGHTS, is_model_folder, read_folder
from seqlm.nn.build import KINDS, build_model

FORMAT = "seqlm-checkpoint"
VERSION = 2
RESERVED = ("format", "version", "kind")
LAST, BEST = "last.pt", "best.pt"
CONFIGS = {"lm": TrainConfig, "seq2seq": Seq2SeqConfig}
VOCABS = {"lm": Vocab, "seq2seq": PairVocabs}


class NonFiniteWeightsError(SeqlmError):
    """A model whose weights hold NaN or infinity: never written, never loaded."""


def non_finite(state: dict[str, Any]) -> list[str]:
    """The names of the floating-point tensors in a state dict that are not all finite."""
    return [name for name, t in state.items() if isinstance(t, torch.Tensor)
            and t.is_floating_point() and not bool(torch.isfinite(t).all())]


def save_checkpoint(path: str | os.PathLike, kind: str, payload: dict[str, Any]) -> Path:
    """Write `payload` as a `kind` checkpoint at `path`, atomically; weights that are not
    finite are refused (`NonFiniteWeightsError`), so a checkpoint on disk is always a usable one."""
    bad = non_finite(payload.get("model", {}))
    if bad:
        raise NonFiniteWeightsError(f"the weights hold NaN or infinity ({', '.join(bad[:3])}): "
                               f"{Path(path).name} was not written")
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; known: {', '.join(KINDS)}")
    clash = [k for k in RESERVED if k in payload]
    if clash:
        raise ValueError(f"payload may not use the reserved key(s) {', '.join(clash)}")
    obj = {"format": FORMAT, "version": VERSION, "kind": kind, **payload}
    data = io.BytesIO()
    torch.save(obj, data)
    return atomic_write(path, lambda f: f.write(data.getbuffer()))


def damaged(path: Path) -> SeqlmError:
    return SeqlmError(f"checkpoint {path} cannot be read: it is damaged or truncated; use "
                      "another checkpoint (best.pt or last.pt of the same run) or train again")


def checkpoint_path(path: str | os.PathLike, prefer: str = BEST) -> Path:
    """A checkpoint file, or a run directory's `prefer` file (else its other one; runs of
    seqlm before the one engine named the latest `checkpoint.pt`)."""
    path = Path(path)
    if not path.is_dir():
        return path
    if is_model_folder(path):
        raise SeqlmError(f"{path} is an exported model folder (weights only, no training "
                         "state): resume from the run directory it was exported from")
    for name in (prefer, LAST if prefer == BEST else BEST, "checkpoint.pt"):
        if (path / name).is_file():
            return path / name
    raise SeqlmError(f"run directory {path} holds no checkpoint ({BEST} or {LAST}): give a "
                     "run directory of a training run, or a .pt file")


def read_checkpoint(path: str | os.PathLike, kind: str | None = None,
                    required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The checkpoint's dict, on the CPU; anything else is a SeqlmError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SeqlmError(f"checkpoint {path} does not exist: check the path, or train first "
                         f"(`seqlm train ... --out DIR` writes DIR/{LAST} and DIR/{BEST})")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM, errno.EIO):
            raise  # a machine fault, reported as such by the CLI
        raise damaged(path) from None
    except pickle.UnpicklingError:
        # torch's own message here suggests loading with weights_only=False: never do that
        # with a file that is not known to be seqlm's (it would run the pickled code)
        raise SeqlmError(f"checkpoint {path} cannot be read: it is not a seqlm checkpoint (it "
                         "holds more than tensors and plain values); pass a checkpoint "
                         "written by seqlm") from None
    except Exception:  # noqa: BLE001 - a damaged file can fail anywhere in the unpickler
        raise damaged(path) from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise SeqlmError(f"{path} is a torch file but not a seqlm checkpoint: pass a "
                         f"{BEST} or {LAST} written by seqlm")
    if not isinstance(obj.get("version"), int) or obj["version"] > VERSION:
        raise SeqlmError(f"checkpoint {path} has format version {obj.get('version')!r}, this "
                         f"seqlm reads version {VERSION} and older: upgrade seqlm")
    if kind is not None and obj.get("kind") != kind:
        raise SeqlmError(f"checkpoint {path} holds a {obj.get('kind')!r} model, not {kind!r}: "
                         "use the command for that kind of model")
    if obj["version"] == 1:
        obj = upgrade_v1(obj)
    missing = [k for k in required if k not in obj]
    if missing:
        raise SeqlmError(f"checkpoint {path} lacks {', '.join(missing)}: it is incomplete, "
                         "edited, or from a seqlm too old to resume; use another checkpoint")
    check_contents(path, obj)
    return obj


def check_contents(path: Path, obj: dict[str, Any]) -> None:
    """The parts every reader relies on have their types, and the weights are finite."""
    model, step = obj.get("model"), obj.get("step", 0)
    if model is not None and not (isinstance(model, dict) and all(
            isinstance(t, torch.Tensor) for t in model.values())):
        raise SeqlmError(f"checkpoint {path} has no weights where they belong (its 'model' is "
                         "not a state dict): it was edited or damaged; use another checkpoint")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise SeqlmError(f"checkpoint {path} is at step {step!r}, not a count of updates: it "
                         "was edited or damaged; use another checkpoint")
    bad = non_finite(model or {})
    if bad:
        raise SeqlmError(f"checkpoint {path} holds NaN or infinite weights ({', '.join(bad[:3])}"
                         "): it comes from a diverged run or was damaged; use an earlier "
                         "checkpoint or train again")


ENGINE_FIELDS = ("optimizer", "weight_decay", "momentum", "clip", "max_steps", "max_minutes",
                 "eval_every", "patience", "threads", "log_every", "diverge_factor")


def upgrade_v1(obj: dict[str, Any]) -> dict[str, Any]:
    """A version-1 checkpoint's config and vocabulary in today's layout (no training state:
    version 1 is loaded for evaluation and sampling only)."""
    config = dict(obj["config"])
    if obj["kind"] == "lm":
        engine = {k: config.pop(k) for k in ENGINE_FIELDS if k in config}
        engine["schedule"] = config.pop("schedule", {})
        config["engine"] = engine
        vocab = obj["vocab"]
    else:
        train = dict(config.get("train", {}))
        for k in ("out", "overwrite", "resume"):
            config.pop(k, None)
        engine = {"optimizer": "adam", "max_steps": train.pop("steps", 3000),
                  "schedule": train.pop("lr_schedule", {}), "clip": train.pop("clip", 1.0),
                  "eval_every": train.pop("eval_every", 500), "threads": train.pop("threads", 1)}
        train["sampling"] = train.pop("schedule", "none")
        model = dict(config.get("model", {}))
        if "embedding_size" in model:
            model["embedding_dim"] = model.pop("embedding_size")
        config.update(train=train, engine=engine, model=model)
        vocab = obj["vocabs"]
    return {"format": FORMAT, "version": 1, "kind": obj["kind"], "config": config,
            "vocab": vocab, "model": obj["model"], "step": obj.get("step", 0),
            "metrics": obj.get("metrics", {})}


def read_model(path: str | os.PathLike, kind: str | None,
               prefer: str = BEST) -> tuple[Path, dict[str, Any]]:
    """The file the weights come from and the checkpoint's dict, from a checkpoint file, a
    run directory, or an exported model folder (read by `seqlm.hf_folder`, never unpickled)."""
    if not is_model_folder(path):
        file = checkpoint_path(path, prefer)
        return file, read_checkpoint(file, kind, required=("config", "vocab", "model"))
    file = Path(path) / WEIGHTS
    payload = read_folder(path)
    if kind is not None and payload["kind"] != kind:
        raise SeqlmError(f"model folder {path} holds a {payload['kind']!r} model, not {kind!r}: "
                         "use the command for that kind of model")
    check_contents(file, payload)
    return file, payload


@dataclass
class Loaded:
    """A trained model rebuilt from its checkpoint, in eval mode on `device`."""

    kind: str
    config: Any  # TrainConfig | Seq2SeqConfig
    vocab: Any  # Vocab | PairVocabs
    model: nn.Module
    step: int
    path: Path
    payload: dict[str, Any]  # everything read, the training state included (last.pt)


def load(path: str | os.PathLike, device: str | torch.device = "cpu",
         kind: str | None = None, prefer: str = BEST) -> Loaded:
    """Read a checkpoint (a run directory's `prefer` file, or an exported model folder)
    once and rebuild its model."""
    file, payload = read_model(path, kind, prefer)
    kind = payload["kind"]
    config = from_dict(CONFIGS[kind], payload["config"], source=str(file))
    try:
        vocab = VOCABS[kind].from_dict(payload["vocab"])
        model = build_model(kind, config, vocab)
        model.load_state_dict(payload["model"])
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        first = str(e).strip().splitlines()[0][:120] if str(e).strip() else type(e).__name__
        raise SeqlmError(f"checkpoint {file} does not match its own config or vocabulary "
                         f"({first}): it was edited or damaged; use another checkpoint"
                         ) from None
    model.to(device).eval()
    return Loaded(kind, config, vocab, model, int(payload.get("step", 0)), file, payload)
