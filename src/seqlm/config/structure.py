"""`seqlm structure`: what recurrent cells learn about structure (docs/structure.md)."""

from dataclasses import dataclass
from typing import ClassVar

from seqlm.config.data import CorpusConfig
from seqlm.config.engine import EngineConfig, ScheduleConfig
from seqlm.config.fields import Config, Options, opt
from seqlm.config.lm import LM_CELLS, LMConfig, TrainConfig


def structure_run() -> TrainConfig:
    """The base run of `--brackets`: one-layer character LMs on the Dyck strings, LSTM
    hidden 32, the whole validation split scored."""
    return TrainConfig(
        corpus=CorpusConfig(name="brackets"),
        model=LMConfig(cell="lstm", unit="char", embedding_dim=16, hidden_size=32,
                       num_layers=1, dropout=0.0),
        engine=EngineConfig(schedule=ScheduleConfig(lr=1e-2, warmup_steps=20), max_steps=400,
                            threads=1),
        batch_size=32, window=64)


@dataclass(frozen=True)
class StructureConfig(Config):
    """`seqlm structure`: what recurrent cells learn about structure (docs/structure.md).

    `--brackets`: every cell of `cells` trained as `train` (on the Dyck strings) at equal
    parameters (the LSTM's hidden size sets the budget, as in `seqlm compare`) and steps, a
    modified Kneser-Ney n-gram of `ngram_order` fitted on the same strings; closing-bracket
    accuracy by depth and distance on the validation and held-out splits, the mass on "close
    now", and the units tracking depth. On a trained run (`seqlm structure RUN`): the same on
    its model if it was trained on brackets, else (code) the share of `samples` whose brackets
    balance and indentation is consistent against an n-gram of `code_ngram_order` on the same
    text, and the units tracking depth, indentation and "inside a string". `train.seed` seeds
    the corpus, the weights, the batches and the samples.
    """

    train: TrainConfig = opt(factory=structure_run)
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS)
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

    OPTIONS: ClassVar[Options] = {
        "train.model.hidden_size": ("--lstm-hidden", "--brackets: the LSTM's hidden size, "
                                    "which sets the parameter budget; the others get the "
                                    "closest"),
        "train.engine.max_steps": ("--steps", "--brackets: training steps per cell"),
        "train.engine.threads": ("--threads", "small models on a shared CPU: one thread is "
                                              "faster"),
        "train.engine.device": ("--device", None),
        "train.seed": ("--seed", "the corpus, the weights and the batches"),
    }


# a budget of seconds for `--quick` and `seqlm lab --quick`
QUICK_STRUCTURE: dict = {
    "train": {"corpus": {"size": 1500}, "model": {"hidden_size": 16}, "batch_size": 16,
              "window": 32, "engine": {"max_steps": 25}},
    "eval_strings": 150, "eval_rows": 16, "passage_chars": 800, "heatmap_chars": 120,
    "trace_chars": 0, "ngram_order": 4, "samples": 8, "sample_length": 200,
    "ngram_max_chars": 200_000}
