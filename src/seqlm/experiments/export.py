"""`seqlm export RUN --format hf --out DIR`: a training run as a folder other toolkits read.

DIR gets `config.json` and `model.safetensors` (`seqlm.hf_folder`: the best weights, their
config and vocabulary, loadable with no pickle) and `README.md`, a model card written from the
run's manifest (`seqlm.experiments.model_card`) with a sample drawn at export time. The folder
is written whole into a staging folder beside DIR and renamed into place, so DIR is never half
written; `--overwrite` replaces only a folder `seqlm export` wrote (the rules of
`seqlm.runs.overwrite`), never a run directory or a user's folder.
Leaves out: ONNX (`--format onnx`) and serving.
"""

import os
import shutil
import warnings
from pathlib import Path

from seqlm.atomic import atomic_write_bytes, atomic_write_text
from seqlm.checkpoint import BEST, Loaded, load
from seqlm.config import ExportConfig, SampleConfig, Seq2SeqDecodeConfig
from seqlm.errors import SeqlmError
from seqlm.experiments.model_card import model_card
from seqlm.hf_folder import folder_files, is_model_folder, read_config
from seqlm.runs.overwrite import protected, seqlm_manifest

TRAINING_COMMANDS = ("train", "seq2seq train")
CARD = "README.md"


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


def check_out(out: Path, overwrite: bool) -> None:
    """DIR may be written: new, empty, or (with overwrite) a folder seqlm exported."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return
    if not overwrite:
        raise SeqlmError(f"--out {out} exists and is not empty: pass --overwrite to replace "
                         "it (only a folder seqlm exported), or choose another --out")
    why = protected(out)
    if why is not None:
        raise SeqlmError(f"--out {out} is {why}: --overwrite never replaces it; give a new "
                         "folder such as --out exports/NAME")
    if not out.is_dir():
        raise SeqlmError(f"--out {out} is a file: --overwrite only replaces a folder seqlm "
                         "exported; choose another --out")
    if is_model_folder(out):
        try:
            read_config(out)  # its config.json carries seqlm's format mark
            return
        except SeqlmError:
            pass
    raise SeqlmError(f"--out {out} holds files `seqlm export` did not write (no seqlm "
                     "config.json): --overwrite only replaces exported folders; choose "
                     "another --out or move those files yourself")


def card_sample(loaded: Loaded, config: ExportConfig) -> tuple[str, str]:
    """The model card's sample and the sentence that says how it was drawn."""
    if loaded.kind == "lm":
        from seqlm.decoding.lm_text import decode_samples

        sample_config = SampleConfig(length=config.sample_length,
                                     temperatures=(config.sample_temperature,),
                                     seed=config.sample_seed)
        text = decode_samples(loaded.model, loaded.vocab, loaded.config.model.unit,
                              sample_config)[0]["text"]
        return text, (f"{config.sample_length} tokens from an empty prime at temperature "
                      f"{config.sample_temperature}, seed {config.sample_seed}, drawn when the "
                      f"model was exported (`seqlm sample THIS_FOLDER --length "
                      f"{config.sample_length} --temperature {config.sample_temperature} "
                      f"--seed {config.sample_seed}` draws it again).")
    from seqlm.decoding.seq2seq import translate

    with warnings.catch_warnings():  # a character outside the vocabulary: shown as <unk>
        warnings.simplefilter("ignore")
        found = translate(loaded.model, loaded.vocab, list(config.translate_examples),
                          Seq2SeqDecodeConfig())
    text = "\n".join(f"{t.source} -> {t.output}" for t in found)
    return text, "Greedy translations of fixed examples, decoded when the model was exported."


def write_folder(folder: Path, loaded: Loaded, manifest: dict, config: ExportConfig) -> None:
    for name, data in folder_files(loaded.payload).items():
        atomic_write_bytes(folder / name, data)
    parameters = sum(p.numel() for p in loaded.model.parameters())
    sample, note = card_sample(loaded, config)
    atomic_write_text(folder / CARD, model_card(loaded.kind, manifest, parameters, sample,
                                                note))


def swap_in(staging: Path, out: Path) -> None:
    """Put the staging folder at `out`: two renames, the old export deleted last."""
    if out.exists():
        old = out.parent / f".{out.name}.seqlm-trash-{os.getpid()}"
        os.rename(out, old)
        os.rename(staging, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(staging, out)


def export_run(config: ExportConfig) -> Path:
    """Write the export folder of run `config.run` at `config.out`; returns its path."""
    if config.format != "hf":
        raise SeqlmError(f"--format {config.format} is not built: use --format hf")
    run, out = Path(config.run), Path(config.out)
    manifest = training_manifest(run)
    check_out(out, config.overwrite)
    loaded = load(run, "cpu", prefer=BEST)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = out.parent / f".{out.name}.seqlm-new-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        write_folder(staging, loaded, manifest, config)
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        swap_in(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
