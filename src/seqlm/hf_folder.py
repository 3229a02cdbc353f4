"""Exported model folders: `config.json` + `model.safetensors`, loaded without pickle.

The layout of the Hugging Face Hub's `PyTorchModelHubMixin` (huggingface/huggingface_hub,
hub_mixin.py): a JSON config beside a safetensors file of the weights. seqlm's config.json:

    format        "seqlm-hf-folder"       tells seqlm's folder from any other config.json
    version       1                       bumped when the layout changes incompatibly
    library_name  "seqlm"                 what the Hub shows
    model_type    "seqlm-lm" | "seqlm-seq2seq"
    kind          "lm" | "seq2seq"        which family of model it holds
    config        the resolved training config, as the checkpoint records it
    vocab         the vocabulary, as the checkpoint records it
    step, metrics the step and validation scores of the exported weights

`model.safetensors` holds the state dict (safetensors: a JSON header and raw tensor bytes, so
reading it runs no code; huggingface/safetensors). `read_folder` returns the same dict a
checkpoint file gives (`seqlm.checkpoint.read_checkpoint`) and never looks at any other file
in the folder: a `.pt` beside it is not opened. Only `seqlm.checkpoint` calls in here.
Leaves out: sharded weights, training state (an exported model cannot resume training).
"""

import json
from pathlib import Path
from typing import Any

import torch

from seqlm.errors import SeqlmError

FOLDER_FORMAT = "seqlm-hf-folder"
FOLDER_VERSION = 1
CONFIG, WEIGHTS = "config.json", "model.safetensors"
KINDS = ("lm", "seq2seq")


def is_model_folder(path: str | Path) -> bool:
    """Whether `path` is a folder meant as an exported model (it holds either file)."""
    path = Path(path)
    return path.is_dir() and ((path / CONFIG).exists() or (path / WEIGHTS).exists())


def folder_files(checkpoint: dict[str, Any]) -> dict[str, bytes]:
    """The bytes of config.json and model.safetensors for a checkpoint's dict."""
    from safetensors.torch import save

    kind = checkpoint["kind"]
    config = {"format": FOLDER_FORMAT, "version": FOLDER_VERSION, "library_name": "seqlm",
              "model_type": f"seqlm-{kind}", "kind": kind, "config": checkpoint["config"],
              "vocab": checkpoint["vocab"], "step": int(checkpoint.get("step", 0)),
              "metrics": checkpoint.get("metrics") or {}}
    # clone: safetensors refuses tensors that share memory (tied weights); the copies hold
    # the same bits, and load_state_dict copies them back into the tied parameters
    weights = {name: t.detach().cpu().clone().contiguous()
               for name, t in checkpoint["model"].items()}
    return {CONFIG: (json.dumps(config, indent=2) + "\n").encode("utf-8"),
            WEIGHTS: save(weights, metadata={"format": "pt", "library": "seqlm"})}


def again(path: Path) -> str:
    return (f"export the run again (`seqlm export RUN --format hf --out {path} --overwrite`) "
            "or use the run directory")


def read_config(path: Path) -> dict[str, Any]:
    """config.json's dict, checked to be seqlm's and of a version this seqlm reads."""
    file = path / CONFIG
    if not file.is_file():
        raise SeqlmError(f"model folder {path} lacks {CONFIG}: {again(path)}")
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise SeqlmError(f"model folder {path}: {CONFIG} is damaged (not JSON): "
                         f"{again(path)}") from None
    if not isinstance(config, dict) or config.get("format") != FOLDER_FORMAT:
        raise SeqlmError(f"model folder {path}: {CONFIG} was not written by `seqlm export`: "
                         "give a folder seqlm exported, or a run directory")
    version = config.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version > FOLDER_VERSION:
        raise SeqlmError(f"model folder {path} has format version {version!r}, this seqlm "
                         f"reads version {FOLDER_VERSION} and older: upgrade seqlm")
    bad = [k for k, t in (("kind", str), ("config", dict), ("vocab", dict), ("step", int),
                          ("metrics", dict)) if not isinstance(config.get(k), t)]
    if bad or config["kind"] not in KINDS:
        raise SeqlmError(f"model folder {path}: {CONFIG} lacks or mangles "
                         f"{', '.join(bad) or 'kind'}: it was edited or damaged; "
                         f"{again(path)}")
    return config


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """model.safetensors' tensors, on the CPU; read as bytes, never unpickled."""
    from safetensors.torch import load as load_safetensors

    file = path / WEIGHTS
    if not file.is_file():
        raise SeqlmError(f"model folder {path} lacks {WEIGHTS}: {again(path)}")
    try:
        return load_safetensors(file.read_bytes())
    except OSError:
        raise  # a machine fault, reported as such by the CLI
    except Exception:  # noqa: BLE001 - safetensors raises its own error types, and others
        raise SeqlmError(f"model folder {path}: {WEIGHTS} is damaged or truncated: "
                         f"{again(path)}") from None


def read_folder(path: str | Path) -> dict[str, Any]:
    """The folder as a checkpoint's dict (no training state), ready for `checkpoint.load`."""
    path = Path(path)
    config = read_config(path)
    return {"format": config["format"], "version": config["version"], "kind": config["kind"],
            "config": config["config"], "vocab": config["vocab"],
            "model": read_weights(path), "step": config["step"], "metrics": config["metrics"]}
