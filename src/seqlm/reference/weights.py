"""Saving and loading NumPy reference models: one .npz file, written atomically.

The file holds every parameter under its name and a `__meta__` entry, a JSON string with the
format tag, the model config (from which `load_weights` rebuilds the model) and whatever the
caller adds (the vocabulary, training numbers). Loaded without pickle. Leaves out: optimiser
state, so training does not resume exactly where it stopped.
"""

import errno
import json
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from seqlm.atomic import atomic_write
from seqlm.config import ReferenceModelConfig, from_dict, to_dict
from seqlm.errors import SeqlmError
from seqlm.reference.lm import ReferenceLM

FORMAT = "seqlm-reference-lm/1"
META = "__meta__"


def save_weights(path: str | Path, model: ReferenceLM, extra: dict[str, Any] | None = None) -> Path:
    meta = {"format": FORMAT, "model": to_dict(model.config), **(extra or {})}
    arrays = {**model.params(), META: np.array(json.dumps(meta))}
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def load_weights(path: str | Path) -> tuple[ReferenceLM, dict[str, Any]]:
    """The model rebuilt from its saved config, with the saved weights, and the metadata."""
    path = Path(path)
    if not path.is_file():
        raise SeqlmError(f"{path} does not exist: give the model.npz of a `seqlm by-hand` run "
                         "directory")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        if isinstance(e, OSError) and e.errno in (errno.EACCES, errno.EPERM, errno.EIO):
            raise  # a machine fault, reported as such
        raise SeqlmError(f"{path} is damaged or not a NumPy .npz file: give the model.npz of "
                         "a `seqlm by-hand` run directory") from None
    meta = json.loads(str(arrays.pop(META, "{}")))
    if meta.get("format") != FORMAT:
        raise SeqlmError(f"{path} is not a seqlm reference model (format {meta.get('format')!r}):"
                         f" give the model.npz of a `seqlm by-hand` run directory")
    config = dict(meta["model"])
    if "embed_size" in config:  # written before one name per concept: embedding_dim
        config["embedding_dim"] = config.pop("embed_size")
    model = ReferenceLM(from_dict(ReferenceModelConfig, config))
    params = model.params()
    if set(arrays) != set(params):
        raise SeqlmError(f"{path} holds parameters {sorted(arrays)}, the config needs "
                         f"{sorted(params)}: the file is damaged or from another version")
    for name, array in params.items():
        if arrays[name].shape != array.shape:
            raise SeqlmError(f"{path}: {name} has shape {arrays[name].shape}, expected "
                             f"{array.shape}: the file is damaged or from another version")
        array[...] = arrays[name]
    return model, meta
