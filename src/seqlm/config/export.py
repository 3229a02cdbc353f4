"""`seqlm export`: a trained run as a folder other toolkits read (config.json,
model.safetensors and a model card). Leaves out: ONNX and serving (not built yet)."""

from dataclasses import dataclass

from seqlm.config.fields import Config, opt

EXPORT_FORMATS = ("hf",)


@dataclass(frozen=True)
class ExportConfig(Config):
    """What to export and where; the model card's sample is drawn with these settings."""

    run: str = ""
    out: str = ""
    format: str = opt("hf", choices=EXPORT_FORMATS, help="hf: config.json + model.safetensors "
                      "+ README.md (the Hugging Face Hub's folder layout)")
    overwrite: bool = False
    sample_length: int = opt(200, ge=1, le=10_000, help="tokens of the model card's sample")
    sample_temperature: float = opt(0.8, ge=0.0, help="the model card's sample; 0 = greedy")
    sample_seed: int = 0
    translate_examples: tuple[str, ...] = opt(
        ("July 19 1980", "9/17/76", "the 30th of december 1963"),
        help="seq2seq: sources the model card shows translated (greedy)")
