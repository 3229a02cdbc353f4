"""The run an export reads: a finished or stopped training run of `seqlm train` or
`seqlm seq2seq train` whose manifest seqlm wrote and which holds its best weights. Shared by
the Hugging Face folder (`seqlm.export.hf`) and the ONNX file (`seqlm.export.onnx`)."""

from pathlib import Path

from seqlm.checkpoint import BEST
from seqlm.errors import SeqlmError
from seqlm.runs.overwrite import seqlm_manifest

TRAINING_COMMANDS = ("train", "seq2seq train")


def training_manifest(run: Path) -> dict:
    """The manifest of a finished or stopped training run that holds its best weights."""
    manifest = seqlm_manifest(run) if run.is_dir() else None
    if manifest is None:
        raise SeqlmError(f"{run} is not a seqlm run directory (no manifest.json seqlm wrote): "
                         "give the --out folder of `seqlm train` or `seqlm seq2seq train`")
    if manifest.get("command") not in TRAINING_COMMANDS or not isinstance(
            manifest.get("config"), dict):
        raise SeqlmError(f"{run} is a `seqlm {manifest.get('command')}` run, which holds no "
                         "trained model to export: give the run directory of `seqlm train` or "
                         "`seqlm seq2seq train`")
    if not (run / BEST).is_file():
        raise SeqlmError(f"run {run} holds no {BEST} (it stopped before its first "
                         "evaluation): train longer, or resume it with --resume")
    return manifest
