"""`seqlm export`: a trained run as a folder other toolkits read (config.json,
model.safetensors and a model card), or as the ONNX file of its one step. Leaves out:
serving."""

from dataclasses import dataclass

from seqlm.config.fields import Config, opt

EXPORT_FORMATS = ("hf", "onnx")
ONNX_EXPORTERS = ("torchscript", "dynamo")  # torch.onnx.export(dynamo=False | True)
ONNX_EXPORTER = "torchscript"  # why: seqlm.export.onnx's docstring (7x faster here)
ONNX_THREADS = 1  # onnxruntime's intra-op threads: 2 spin and lose ~2x under load (docs/export.md)
ONNX_CHUNK = 256  # tokens per call of the ONNX generation loop (seqlm.export.onnx_loop)
ONNX_UNROLL = 8  # steps per iteration of that loop (docs/export.md)


@dataclass(frozen=True)
class ExportConfig(Config):
    """What to export and where; the model card's sample is drawn with these settings."""

    run: str = ""
    out: str = ""
    format: str = opt("hf", choices=EXPORT_FORMATS, help="hf: config.json + model.safetensors "
                      "+ README.md (the Hugging Face Hub's folder layout); onnx: the model's "
                      "one step, its state as inputs and outputs (seq2seq: FILE the encoder, "
                      "FILE.decoder.onnx)")
    overwrite: bool = False
    sample_length: int = opt(200, ge=1, le=10_000, help="tokens of the model card's sample")
    sample_temperature: float = opt(0.8, ge=0.0, help="the model card's sample; 0 = greedy")
    sample_seed: int = 0
    translate_examples: tuple[str, ...] = opt(
        ("July 19 1980", "9/17/76", "the 30th of december 1963"),
        help="seq2seq: sources the model card shows translated (greedy)")
    source_length: int = opt(64, ge=1, le=4096, help="seq2seq ONNX: the encoder's source "
                             "length S; sources are padded to it, longer ones refused")
    onnx_exporter: str = opt(ONNX_EXPORTER, choices=ONNX_EXPORTERS, help="torchscript: "
                             "torch.onnx.export(dynamo=False); dynamo: torch.export + "
                             "onnxscript (slower here)")
