"""`seqlm export RUN --format onnx --out FILE`: a model's one step as an ONNX file.

An LM becomes one file, its step (`seqlm.export.onnx_graphs.LMStep`); a seq2seq model two:
FILE holds the encoder and `<FILE stem>.decoder.onnx` beside it the decoder step with the
attention weights as an output. Every graph has a dynamic batch axis ("batch") and carries
in its metadata (key "seqlm", JSON) all a sampler needs besides onnxruntime:

    format, version   "seqlm-onnx", 1
    kind, graph       "lm" + "step", or "seq2seq" + "encoder" | "decoder"
    config, vocab     the training config and vocabulary, as the checkpoint records them
    step, metrics     the step and validation scores of the exported weights
    inputs, outputs   names in call order; state: each state tensor's name and shape
    source_length     seq2seq: the encoder's S (sources are padded to it)
    decoder           seq2seq encoder: the decoder file's name

Exporter (`--onnx-exporter`): torch.onnx.export's TorchScript exporter (dynamo=False) by
default. torch 2.13 warns that it will be removed and makes dynamo=True (torch.export, then
onnxscript's translation) its default, and both give the same graphs to 1e-7 here; but the
dynamo exporter took 7x longer on a seq2seq encoder (31 s against 4.3 s at load 12, its
graph optimiser off; 80-137 s with it on) and needs onnxscript. The graphs are written for
both (`seqlm.export.onnx_graphs`), so switching the default is one field. The export needs
`onnx` (and `onnxscript` for dynamo), sampling only `onnxruntime`: all are the extra
`seqlm[onnx]`, and their absence is a one-line refusal.
Leaves out: quantisation, opset choice, external data for models over 2 GB.
"""

import importlib.util
import json
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from seqlm.atomic import atomic_write_bytes
from seqlm.config import ONNX_EXPORTER
from seqlm.errors import SeqlmError

ONNX_FORMAT, ONNX_VERSION, META_KEY = "seqlm-onnx", 1, "seqlm"
MEMORY = ["keys", "prepared", "mask", "summary"]  # what a seq2seq decoder reads
EXTRA = "pip install 'seqlm[onnx]'"


def require(*modules: str) -> None:
    """Refuse in one line unless every module of the `onnx` extra named is importable."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise SeqlmError(f"ONNX export and sampling need {', '.join(missing)}, which is not "
                         f"installed: {EXTRA}")


@contextmanager
def quiet_exporter():
    """The exporter logs and warns about itself (torchvision ops it skips, deprecations);
    library code never prints, so those are held back while it runs."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def traced(module, example: tuple, inputs: list[str], outputs: list[str],
           batched: dict[str, int], exporter: str):
    """The ONNX ModelProto of `module` traced on `example` with a dynamic "batch" axis
    (`batched`: every input and output name -> its batch axis)."""
    import io

    import onnx
    import torch

    module.eval()  # the exporter restores the mode it found, recursively: eval, as built
    with quiet_exporter(), torch.no_grad():
        if exporter == "dynamo":
            require("onnxscript")
            batch = torch.export.Dim("batch")
            shapes = (tuple({batched[n]: batch} if n in batched else None for n in inputs),)
            return torch.onnx.export(module, example, dynamo=True, verbose=False,
                                     input_names=inputs, output_names=outputs,
                                     dynamic_shapes=shapes).model_proto
        buffer = io.BytesIO()
        torch.onnx.export(module, example, buffer, dynamo=False, input_names=inputs,
                          output_names=outputs,
                          dynamic_axes={n: {a: "batch"} for n, a in batched.items()})
    return onnx.load_from_string(buffer.getvalue())


def graph_bytes(module, example: tuple, inputs: list[str], outputs: list[str],
                batched: dict[str, int], meta: dict[str, Any], exporter: str) -> bytes:
    """The bytes of the ONNX file of `module`, seqlm's metadata inside."""
    require("onnx")
    proto = traced(module, example, inputs, outputs, batched, exporter)
    proto.producer_name = "seqlm"  # near the file's start: `seqlm_onnx` looks for it there
    entry = proto.metadata_props.add()
    entry.key, entry.value = META_KEY, json.dumps(
        {"format": ONNX_FORMAT, "version": ONNX_VERSION, "inputs": inputs,
         "outputs": outputs, **meta})
    return proto.SerializeToString()


def state_names(count: int) -> tuple[list[str], list[str]]:
    return [f"state_{i}" for i in range(count)], [f"state_{i}_out" for i in range(count)]


def common_meta(loaded, graph: str) -> dict[str, Any]:
    payload = loaded.payload
    return {"kind": loaded.kind, "graph": graph, "config": payload["config"],
            "vocab": payload["vocab"], "step": int(payload.get("step", 0)),
            "metrics": payload.get("metrics") or {}}


def lm_bytes(loaded, exporter: str = ONNX_EXPORTER) -> bytes:
    """The ONNX file of an LM's step (`loaded`: a `seqlm.checkpoint.Loaded` of kind lm)."""
    from seqlm.export.onnx_graphs import LMStep

    step = LMStep(loaded.model)
    names, outs = state_names(step.state_size)
    layout = [{"name": n, "holds": part, "shape": [step.layers, "batch", step.hidden]}
              for n, part in zip(names, ("h", "c"), strict=False)]
    return graph_bytes(step, step.example(1), ["tokens", *names], ["logits", *outs],
                       {"tokens": 0, "logits": 0, **{n: 1 for n in [*names, *outs]}},
                       {**common_meta(loaded, "step"), "state": layout}, exporter)


def decoder_path(out: Path) -> Path:
    """The seq2seq decoder's file beside FILE: x.onnx -> x.decoder.onnx."""
    return out.with_name(f"{out.stem if out.suffix == '.onnx' else out.name}.decoder.onnx")


def seq2seq_bytes(loaded, source_length: int, decoder_name: str,
                  exporter: str = ONNX_EXPORTER) -> tuple[bytes, bytes]:
    """(encoder, decoder step) ONNX files of a seq2seq model."""
    from seqlm.export.onnx_graphs import seq2seq_graphs

    encoder, decoder, example = seq2seq_graphs(loaded.model, source_length)
    names, outs = state_names(decoder.state_size)
    memory = MEMORY
    layout = [{"name": n, "shape": ["batch", int(t.shape[1])]}
              for n, t in zip(names, example[1 : 1 + len(names)], strict=True)]
    meta = {"state": layout, "source_length": source_length}
    decoder_outputs = ["logits", *outs, *(["attention"] if decoder.attends else [])]
    encoder_bytes = graph_bytes(
        encoder, encoder.example(1), ["source", "lengths"], [*memory, *names],
        {n: 0 for n in ["source", "lengths", *memory, *names]},
        {**common_meta(loaded, "encoder"), **meta, "decoder": decoder_name}, exporter)
    decoder_bytes = graph_bytes(
        decoder, example, ["previous", *names, *memory], decoder_outputs,
        {n: 0 for n in ["previous", *names, *memory, *decoder_outputs]},
        {**common_meta(loaded, "decoder"), **meta}, exporter)
    return encoder_bytes, decoder_bytes


def onnx_files(loaded, out: Path, source_length: int,
               exporter: str = ONNX_EXPORTER) -> dict[Path, bytes]:
    """Path -> bytes of every file the export writes (the decoder before its encoder)."""
    if loaded.kind == "lm":
        return {out: lm_bytes(loaded, exporter)}
    sibling = decoder_path(out)
    encoder_bytes, decoder_bytes = seq2seq_bytes(loaded, source_length, sibling.name,
                                                 exporter)
    return {sibling: decoder_bytes, out: encoder_bytes}


def seqlm_onnx(path: Path) -> bool:
    """Whether `path` is an ONNX file seqlm wrote (its producer name, near the start)."""
    try:
        with open(path, "rb") as f:
            head = f.read(256)
    except OSError:
        return False
    return b"\x12\x05seqlm" in head  # field 2 (producer_name), length 5, "seqlm"


def check_onnx_out(paths: list[Path], overwrite: bool) -> None:
    for path in paths:
        if path.is_dir():
            raise SeqlmError(f"--out {path} is a folder: give a file path such as "
                             f"--out {path / 'model.onnx'}")
        if path.exists() and not overwrite:
            raise SeqlmError(f"--out {path} exists: pass --overwrite to replace it (only an "
                             "ONNX file seqlm wrote), or choose another --out")
        if path.exists() and not seqlm_onnx(path):
            raise SeqlmError(f"--out {path} exists and is not an ONNX file seqlm wrote: "
                             "--overwrite only replaces seqlm's own files; choose another --out")


def export_onnx(config) -> Path:
    """Write the ONNX file(s) of run `config.run` (an `ExportConfig`); returns FILE."""
    from seqlm.checkpoint import BEST, load
    from seqlm.export.source import training_manifest

    require("onnx", *(["onnxscript"] if config.onnx_exporter == "dynamo" else []))
    run, out = Path(config.run), Path(config.out)
    training_manifest(run)
    loaded = load(run, "cpu", prefer=BEST)
    targets = [out] if loaded.kind == "lm" else [out, decoder_path(out)]
    check_onnx_out(targets, config.overwrite)
    files = onnx_files(loaded, out, config.source_length, config.onnx_exporter)
    out.parent.mkdir(parents=True, exist_ok=True)
    for path, data in files.items():
        atomic_write_bytes(path, data)
    return out
