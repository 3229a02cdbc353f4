"""`seqlm compare --sweep`: the RNN / LSTM / GRU comparison over budgets and seeds."""

from dataclasses import dataclass
from typing import ClassVar

from seqlm.config.fields import Config, Options, merge, opt
from seqlm.config.lm import LM_CELLS, CompareConfig, TrainConfig
from seqlm.errors import ConfigError


def sweep_run() -> TrainConfig:
    """`seqlm compare`'s base run, scored once after training on 30,000 characters."""
    return merge(CompareConfig().train, {"final_eval_max_tokens": 30_000,
                                         "eval_max_tokens": 2_000})


@dataclass(frozen=True)
class SweepConfig(Config):
    """Every cell at every budget (training steps) for every seed, at equal parameters (the
    LSTM's `train.model.hidden_size` sets the count), on the corpus of `seqlm compare`.
    `train` is the run every (budget, seed, cell) is derived from: its steps are the budget
    (and the one validation pass comes at the end), its seed the seed."""

    train: TrainConfig = opt(factory=sweep_run)
    fallback: str | None = opt("verbs", help="as CompareConfig.fallback")
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS)
    budgets: tuple[int, ...] = opt((300, 1000, 3000), ge=1, help="training steps per model, "
                                   "increasing")
    seeds: tuple[int, ...] = opt((0, 1), help="one run per seed at every budget and cell")

    OPTIONS: ClassVar[Options] = {
        "train.final_eval_max_tokens": ("--final-eval-max-tokens", "validation tokens scored "
                                        "after training; None = all"),
        "train.model.hidden_size": ("--lstm-hidden", None),
        "train.model.num_layers": ("--num-layers", None),
        "train.model.embedding_dim": ("--embedding-dim", None),
        "train.batch_size": ("--batch-size", None),
        "train.window": ("--window", None),
        "train.engine.schedule.lr": ("--lr", None),
    }

    def check(self) -> None:
        if list(self.budgets) != sorted(set(self.budgets)):
            raise ConfigError("budgets", self.budgets, "must be increasing, e.g. 300 1000 3000")
        if len(set(self.seeds)) != len(self.seeds) or not self.seeds:
            raise ConfigError("seeds", self.seeds, "must be one or more distinct seeds")


# the lab's cheap sweep: small models, two short budgets, two seeds
QUICK_SWEEP: dict = {
    "budgets": [20, 60], "seeds": [0, 1],
    "train": {"model": {"hidden_size": 48, "embedding_dim": 24}, "batch_size": 16,
              "window": 32, "final_eval_max_tokens": 8_000,
              "engine": {"schedule": {"lr": 1e-2}}}}
# `seqlm lab --quick`: QUICK_SWEEP cut to two tiny budgets and one seed
LAB_QUICK_SWEEP: dict = {"budgets": [5, 10], "seeds": [0]}
