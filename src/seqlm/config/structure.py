"""`seqlm structure`: what recurrent cells learn about structure (docs/structure.md)."""

from dataclasses import dataclass, replace

from seqlm.config.data import CorpusConfig
from seqlm.config.engine import DEVICE_HELP
from seqlm.config.fields import Config, opt
from seqlm.config.lm import LM_CELLS


@dataclass(frozen=True)
class StructureConfig(Config):
    """`seqlm structure`: what recurrent cells learn about structure (docs/structure.md).

    `--brackets`: every cell of `cells` trained on `corpus` (the Dyck strings) at equal
    parameters (the LSTM's hidden size sets the budget, as in `seqlm compare`) and steps, a
    modified Kneser-Ney n-gram of `ngram_order` fitted on the same strings; closing-bracket
    accuracy by depth and distance on the validation and held-out splits, the mass on "close
    now", and the units tracking depth. On a trained run (`seqlm structure RUN`): the same on
    its model if it was trained on brackets, else (code) the share of `samples` whose brackets
    balance and indentation is consistent against an n-gram of `code_ngram_order` on the same
    text, and the units tracking depth, indentation and "inside a string".
    """

    corpus: CorpusConfig = opt(factory=lambda: CorpusConfig(name="brackets"))
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS)
    lstm_hidden: int = opt(32, ge=1, help="--brackets: the LSTM's hidden size, which sets the "
                           "parameter budget; the others get the closest")
    embedding_dim: int = opt(16, ge=1)
    num_layers: int = opt(1, ge=1)
    steps: int = opt(400, ge=1, help="--brackets: training steps per cell")
    batch_size: int = opt(32, ge=1)
    window: int = opt(64, ge=1)
    lr: float = opt(1e-2, gt=0.0)
    warmup_steps: int = opt(20, ge=0)
    threads: int | None = opt(1, ge=1, help="small models on a shared CPU: one thread is faster")
    device: str = opt("auto", help=DEVICE_HELP)
    ngram_order: int = opt(6, ge=1, le=8, help="brackets: the n-gram baseline (modified KN)")
    eval_strings: int = opt(1000, ge=1, help="brackets: strings scored per split")
    eval_rows: int = opt(32, ge=1, help="brackets: line groups scored side by side")
    passage_chars: int = opt(8000, ge=2, help="neurons: characters the units are correlated over")
    top_units: int = opt(3, ge=1, help="neurons: units reported per label (and per model)")
    heatmap_chars: int = opt(480, ge=1, help="pictures: characters in a text heatmap")
    trace_chars: int = opt(240, ge=0, help="pictures: characters in an activation plot; 0: none")
    samples: int = opt(50, ge=1, help="code: samples per model")
    sample_length: int = opt(500, ge=1, help="code: characters per sample")
    temperature: float = opt(0.8, gt=0.0, help="code: sampling temperature of both models")
    code_ngram_order: int = opt(7, ge=1, le=8, help="code: the n-gram of the same text")
    ngram_max_chars: int = opt(2_000_000, ge=1, help="code: the n-gram's training text")
    seed: int = opt(0, help="the corpus, the weights and the batches")


def quick_structure(config: StructureConfig) -> StructureConfig:
    """A budget of seconds for `--quick` and `seqlm lab --quick`."""
    return replace(config, corpus=replace(config.corpus, size=1500), lstm_hidden=16,
                   steps=25, batch_size=16, window=32, eval_strings=150, eval_rows=16,
                   passage_chars=800, heatmap_chars=120, trace_chars=0, ngram_order=4,
                   samples=8, sample_length=200, ngram_max_chars=200_000)
