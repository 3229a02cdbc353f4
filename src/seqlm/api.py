"""seqlm as a library: train from a config, load what was trained, generate and score.

    run = seqlm.train(TrainConfig(...), out="runs/mine")       # or a Seq2SeqConfig
    lm = seqlm.load("runs/mine", device="cpu")                   # best.pt of the run
    lm = seqlm.load("exports/mine")                              # or a `seqlm export` folder
    lm.generate("ROMEO:", length=200, temperature=0.8)           # text
    lm.score("To be, or not to be")                              # nats, perplexity, bits

`load` returns a `LanguageModel` for a language-model checkpoint and a `Translator` for a
seq2seq one; both offer `generate` and `score`, in the units of the rest of seqlm (nats).
Everything here is one call into the same library functions the command line uses.
Leaves out: serving, batching many requests together.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from seqlm.checkpoint import Loaded
from seqlm.checkpoint import load as load_checkpoint
from seqlm.config import SampleConfig, Seq2SeqConfig, Seq2SeqDecodeConfig, TrainConfig
from seqlm.decoding.lm_text import decode_samples, join_prime
from seqlm.errors import SeqlmError
from seqlm.progress import ProgressCallback
from seqlm.runs.run import Run
from seqlm.training.devices import resolve_device


def train(config: TrainConfig | Seq2SeqConfig, out: str | Path | None = None,
          overwrite: bool = False, resume: str | Path | None = None,
          progress: ProgressCallback | None = None,
          should_stop: Callable[[], bool] | None = None) -> Run:
    """Train a language model (TrainConfig) or a seq2seq model (Seq2SeqConfig) into a run
    directory; the finished `Run` holds its path and metrics."""
    if isinstance(config, TrainConfig):
        from seqlm.runs.lm import run_train

        return run_train(config, out, overwrite, resume, progress=progress,
                         should_stop=should_stop)
    if isinstance(config, Seq2SeqConfig):
        from seqlm.runs.seq2seq import run_training

        return run_training(config, out, overwrite, resume, progress=progress,
                            should_stop=should_stop)
    raise SeqlmError(f"seqlm.train takes a TrainConfig or a Seq2SeqConfig, not "
                     f"{type(config).__name__}: build one, e.g. seqlm.config.TrainConfig()")


class LanguageModel:
    """A trained recurrent language model: `generate` text after a prime, `score` a text."""

    def __init__(self, loaded: Loaded):
        self.loaded, self.model, self.vocab = loaded, loaded.model, loaded.vocab
        self.unit = loaded.config.model.unit

    def generate(self, prime: str = "", length: int = 200, temperature: float = 0.8,
                 top_k: int | None = None, top_p: float | None = None,
                 repetition_penalty: float = 1.0, beam_width: int | None = None,
                 seed: int = 0) -> str:
        """The prime followed by `length` generated tokens (temperature 0: greedy)."""
        config = SampleConfig(prime=prime, length=length, temperatures=(temperature,),
                              top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty,
                              beam_width=beam_width, seed=seed)
        sample = decode_samples(self.model, self.vocab, self.unit, config)[0]
        return join_prime(prime, sample["text"], self.unit)

    def score(self, text: str) -> dict[str, float]:
        """Loss in nats per token, perplexity, bits per character and byte of `text`,
        scored statefully as `seqlm eval --text-file` does."""
        from seqlm.data.lm_data import encode_text
        from seqlm.training.evaluate import evaluate_stream

        if not isinstance(text, str) or len(text) < 2:
            raise SeqlmError("score takes a text of at least two characters, not "
                             f"{type(text).__name__} {str(text)[:20]!r}")
        stream = encode_text(text, self.unit, self.vocab)
        return evaluate_stream(self.model, stream, 1, self.loaded.config.window)


class Translator:
    """A trained seq2seq model: `generate` normalises sources, `score` tests pairs."""

    def __init__(self, loaded: Loaded):
        self.loaded, self.model, self.vocabs = loaded, loaded.model, loaded.vocab

    def generate(self, source: str | list[str], beam_width: int = 1) -> str | list[str]:
        """The output for one source (or a list of outputs for a list)."""
        from seqlm.decoding.seq2seq import translate

        sources = [source] if isinstance(source, str) else list(source)
        if not all(isinstance(s, str) for s in sources):
            raise SeqlmError("generate takes a source string or a list of them")
        found = translate(self.model, self.vocabs, sources,
                          Seq2SeqDecodeConfig(beam_width=beam_width))
        outputs = [t.output for t in found]
        return outputs[0] if isinstance(source, str) else outputs

    def score(self, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        """Exact match (with its 95% interval) and per-character accuracy on `pairs`."""
        from seqlm.training.seq2seq_score import evaluate

        return evaluate(self.model, self.vocabs, pairs)[0]


def load(path: str | Path, device: str = "cpu") -> LanguageModel | Translator:
    """The model of a checkpoint, a run directory (its best.pt) or a folder `seqlm export`
    wrote (config.json + model.safetensors, read without pickle), on `device`."""
    if not isinstance(path, str | Path) or not str(path):
        raise SeqlmError(f"seqlm.load takes the path of a run directory or checkpoint, not "
                         f"{type(path).__name__} {path!r}")
    loaded = load_checkpoint(path, resolve_device(device))
    return LanguageModel(loaded) if loaded.kind == "lm" else Translator(loaded)
