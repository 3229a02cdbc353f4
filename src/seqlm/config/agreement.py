"""`seqlm compare --agreement`: long-range subject-verb agreement by distance, per cell."""

from dataclasses import dataclass
from typing import ClassVar

from seqlm.config.data import CorpusConfig
from seqlm.config.engine import EngineConfig, ScheduleConfig
from seqlm.config.fields import Config, Options, opt
from seqlm.config.lm import LM_CELLS, LMConfig, TrainConfig
from seqlm.errors import ConfigError

LSTM_HIDDEN_HELP = ("the LSTM's hidden size, which sets the parameter budget; every other "
                    "cell gets the hidden size whose parameter count comes closest")


def agreement_run() -> TrainConfig:
    """The base run: one-layer word LMs on the verbs mix (plural subjects), LSTM hidden 64."""
    return TrainConfig(
        corpus=CorpusConfig(name="verbs", plural=True),
        model=LMConfig(cell="lstm", unit="word", embedding_dim=32, hidden_size=64,
                       num_layers=1),
        engine=EngineConfig(schedule=ScheduleConfig(lr=3e-3, warmup_steps=20), max_steps=400,
                            threads=1),
        batch_size=32, window=64)


@dataclass(frozen=True)
class AgreementConfig(Config):
    """RNN vs LSTM vs GRU word LMs at equal parameters, data, seed and steps on the `verbs`
    mix with agreement distances up to `max_distance`, scored on fresh agreement items per
    distance bucket. `buckets` are the buckets' upper edges: (5, 20, 50, 70) means 1-5,
    6-20, 21-50 and 51-70 tokens between the subject's head noun and its verb. `train` is
    the run every cell's is derived from (the cell and the matched hidden size vary; its
    seed also seeds the text and the test items); its corpus is recorded, the text itself
    is `sentences` of the verbs mix drawn here."""

    train: TrainConfig = opt(factory=agreement_run)
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS)
    sentences: int = opt(20_000, ge=10, help="training sentences of the verbs mix (three in "
                         "ten agreement sentences, plural subjects half the time)")
    agreement_share: float = opt(0.0, ge=0.0, lt=1.0, help="this share of the training "
                                 "sentences are agreement sentences added to the verbs mix, "
                                 "distances spread evenly")
    max_distance: int = opt(70, ge=1, help="agreement distances in training: 1 to this")
    buckets: tuple[int, ...] = opt((5, 20, 50, 70), ge=1, help="upper edges of the distance "
                                   "buckets")
    examples: int = opt(200, ge=1, help="test items per bucket, distances uniform in it")

    OPTIONS: ClassVar[Options] = {
        "train.model.hidden_size": ("--lstm-hidden", LSTM_HIDDEN_HELP),
        "train.model.embedding_dim": ("--embedding-dim", None),
        "train.model.num_layers": ("--num-layers", ""),
        "train.engine.schedule.lr": ("--lr", None),
        "train.batch_size": ("--batch-size", ""),
        "train.window": ("--window", "truncated BPTT length in words"),
        "train.engine.max_steps": ("--steps", "per model"),
        "train.seed": ("--seed", None),
    }

    def check(self) -> None:
        if list(self.buckets) != sorted(set(self.buckets)):
            raise ConfigError("buckets", self.buckets, "must be increasing upper edges, e.g. "
                              "5,20,50,70")
        if self.buckets[-1] > self.max_distance:
            raise ConfigError("buckets", self.buckets, f"reach past max_distance "
                              f"{self.max_distance}: raise --max-distance or lower the edges")


# the lab's `--quick` budget: seconds, not a result
QUICK_AGREEMENT: dict = {"train": {"engine": {"max_steps": 30}, "model": {"hidden_size": 16}},
                         "sentences": 2_000, "examples": 20}
# the full lab's budget: about 40 s for the three cells on 2 cores (docs/nnlm.md)
LAB_AGREEMENT: dict = {"train": {"engine": {"max_steps": 200, "schedule": {"lr": 1e-2}},
                                 "batch_size": 16, "window": 32},
                       "sentences": 6_000, "examples": 100, "agreement_share": 0.7}
