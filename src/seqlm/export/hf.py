"""`seqlm export RUN --format hf --out DIR`: a training run as a folder other toolkits read.

DIR gets `config.json` and `model.safetensors` (`seqlm.hf_folder`: the best weights, their
config and vocabulary, loadable with no pickle) and `README.md`, a model card written from the
run's manifest (`seqlm.export.model_card`) with a sample drawn at export time. The folder
is written whole into a staging folder beside DIR and renamed into place by the run
directory's swap (`seqlm.runs.run.swap_into_place`, with its recovery of a swap cut
short), so DIR is never half written; `--overwrite` replaces only a folder `seqlm export`
wrote (the rules of `seqlm.runs.overwrite`), never a run directory or a user's folder.
Leaves out: ONNX (`seqlm.export.onnx`) and serving.
"""

import os
import shutil
import warnings
from pathlib import Path

from seqlm.atomic import atomic_write_bytes, atomic_write_text
from seqlm.checkpoint import BEST, Loaded, load
from seqlm.config import ExportConfig, SampleConfig, Seq2SeqDecodeConfig
from seqlm.errors import SeqlmError
from seqlm.export.model_card import model_card
from seqlm.export.source import training_manifest
from seqlm.hf_folder import folder_files, is_model_folder, read_config
from seqlm.runs.overwrite import protected
from seqlm.runs.run import recover_interrupted_swap, remove_stale_staging, swap_into_place

CARD = "README.md"


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
    if exported(out):  # its config.json carries seqlm's format mark
        return
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


def exported(folder: Path) -> bool:
    """Whether `folder` is a model folder `seqlm export` wrote (its config.json says so)."""
    if not is_model_folder(folder):
        return False
    try:
        read_config(folder)
    except SeqlmError:
        return False
    return True


def export_run(config: ExportConfig) -> Path:
    """Write the export of run `config.run` at `config.out` (a folder; with --format onnx
    the ONNX file, `seqlm.export.onnx`); returns its path."""
    if config.format == "onnx":
        from seqlm.export.onnx import export_onnx

        return export_onnx(config)
    run, out = Path(config.run), Path(config.out)
    manifest = training_manifest(run)
    recover_interrupted_swap(out, ours=exported)  # the run directory's swap, its recovery
    remove_stale_staging(out)
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
        if out.exists():
            swap_into_place(staging, out)
        else:
            os.rename(staging, out)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out
