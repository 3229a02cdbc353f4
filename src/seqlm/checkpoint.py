"""Checkpoints: the only code that knows their format.

A checkpoint is one `torch.save`d dict:

    format   "seqlm-checkpoint"          tells a seqlm file from any other torch file
    version  1                           bumped when the layout changes incompatibly
    kind     "lm" | "seq2seq"            which family of model it holds
    ...      the caller's payload: by convention `config` (the resolved config as a dict),
             `vocab` (Vocab.to_dict()), `model`, `optimizer`, `scheduler` (state dicts),
             `step`, `rng` (torch / numpy / python generator states), `data` (position in
             the data stream), `metrics`

Contents are restricted to what `torch.load(weights_only=True)` accepts (tensors, numbers,
strings, lists, tuples, dicts, None), so loading never runs pickled code. Files are written
atomically (`seqlm.atomic`): a crash mid-write leaves the previous checkpoint intact. Loading
maps every tensor to the CPU whatever device wrote it. Leaves out: sharded and safetensors
files.
"""

import os
from pathlib import Path
from typing import Any

import torch

from seqlm.atomic import atomic_write
from seqlm.errors import SeqlmError

FORMAT = "seqlm-checkpoint"
VERSION = 1
KINDS = ("lm", "seq2seq")
RESERVED = ("format", "version", "kind")


def save_checkpoint(path: str | os.PathLike, kind: str, payload: dict[str, Any]) -> Path:
    """Write `payload` as a `kind` checkpoint at `path`, atomically."""
    if kind not in KINDS:
        raise ValueError(f"unknown checkpoint kind {kind!r}; known: {', '.join(KINDS)}")
    clash = [k for k in RESERVED if k in payload]
    if clash:
        raise ValueError(f"payload may not use the reserved key(s) {', '.join(clash)}")
    obj = {"format": FORMAT, "version": VERSION, "kind": kind, **payload}
    return atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path: str | os.PathLike, kind: str,
                    required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a `kind` checkpoint onto the CPU; anything else is a SeqlmError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SeqlmError(f"checkpoint {path} does not exist: check the path, or train first "
                         "(`seqlm train ... --out DIR` writes DIR/checkpoint.pt)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - a damaged file can fail anywhere in the unpickler
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise SeqlmError(f"checkpoint {path} cannot be read ({first[:160]}): the file is "
                         "corrupted or not a seqlm checkpoint; use another checkpoint or "
                         "train again") from None
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        raise SeqlmError(f"{path} is a torch file but not a seqlm checkpoint: pass a "
                         "checkpoint.pt written by seqlm")
    if not isinstance(obj.get("version"), int) or obj["version"] > VERSION:
        raise SeqlmError(f"checkpoint {path} has format version {obj.get('version')!r}, this "
                         f"seqlm reads version {VERSION} and older: upgrade seqlm")
    if obj.get("kind") != kind:
        raise SeqlmError(f"checkpoint {path} holds a {obj.get('kind')!r} model, not {kind!r}: "
                         "use the command for that kind of model")
    missing = [k for k in required if k not in obj]
    if missing:
        raise SeqlmError(f"checkpoint {path} lacks {', '.join(missing)}: it is incomplete or "
                         "was edited; use another checkpoint")
    return obj
