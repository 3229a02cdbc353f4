"""`seqlm compare --sweep`: the RNN / LSTM / GRU comparison over budgets and seeds."""

from dataclasses import dataclass, replace

from seqlm.config.fields import Config, opt
from seqlm.config.lm import LM_CELLS
from seqlm.errors import ConfigError


@dataclass(frozen=True)
class SweepConfig(Config):
    """Every cell at every budget (training steps) for every seed, at equal parameters (the
    LSTM's `lstm_hidden` sets the count), on the corpus of `seqlm compare`. The model and
    optimiser fields are those of `CompareConfig`; the budgets and seeds are the sweep's."""

    corpus: str | None = opt(None, help="None: tinyshakespeare, or verbs (char level) if it "
                             "is absent")
    data_dir: str | None = None
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS)
    budgets: tuple[int, ...] = opt((300, 1000, 3000), ge=1, help="training steps per model, "
                                   "increasing")
    seeds: tuple[int, ...] = opt((0, 1), help="one run per seed at every budget and cell")
    lstm_hidden: int = opt(128, ge=1, help="sets the parameter budget; the others get the hidden")
    num_layers: int = opt(2, ge=1)
    embedding_dim: int = opt(64, ge=1)
    batch_size: int = opt(32, ge=1)
    window: int = opt(64, ge=1)
    lr: float = opt(3e-3, gt=0.0)
    final_eval_max_tokens: int | None = opt(30_000, ge=2, help="validation tokens scored "
                                            "after training; None = all")
    threads: int | None = opt(1, ge=1, help="small models on a shared CPU: one thread is faster")
    device: str = opt("auto", help="as EngineConfig.device")

    def check(self) -> None:
        if list(self.budgets) != sorted(set(self.budgets)):
            raise ConfigError("budgets", self.budgets, "must be increasing, e.g. 300 1000 3000")
        if len(set(self.seeds)) != len(self.seeds) or not self.seeds:
            raise ConfigError("seeds", self.seeds, "must be one or more distinct seeds")


def quick_sweep(config: SweepConfig) -> SweepConfig:
    """The lab's cheap sweep: small models, two short budgets, two seeds."""
    return replace(config, budgets=(20, 60), seeds=(0, 1), lstm_hidden=48, embedding_dim=24,
                   batch_size=16, window=32, lr=1e-2, final_eval_max_tokens=8_000)
