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

import errno
import io
import os
import pickle
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
    # serialise in memory first: a full disk then fails in a plain OS write (ENOSPC, named),
    # not inside torch's zip writer with an opaque message
    data = io.BytesIO()
    torch.save(obj, data)
    return atomic_write(path, lambda f: f.write(data.getbuffer()))


def damaged(path: Path) -> SeqlmError:
    return SeqlmError(f"checkpoint {path} cannot be read: it is damaged or truncated; use "
                      "another checkpoint (best.pt or checkpoint.pt of the same run) or train "
                      "again")


def load_checkpoint(path: str | os.PathLike, kind: str,
                    required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Read a `kind` checkpoint onto the CPU; anything else is a SeqlmError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise SeqlmError(f"checkpoint {path} does not exist: check the path, or train first "
                         "(`seqlm train ... --out DIR` writes DIR/checkpoint.pt)")
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
                         "holds more than tensors and plain values); pass a checkpoint.pt "
                         "written by seqlm") from None
    except Exception:  # noqa: BLE001 - a damaged file can fail anywhere in the unpickler
        raise damaged(path) from None
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
