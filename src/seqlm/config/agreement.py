"""`seqlm compare --agreement`: long-range subject-verb agreement by distance, per cell."""

from dataclasses import dataclass, replace

from seqlm.config.fields import Config, opt
from seqlm.config.lm import LM_CELLS
from seqlm.errors import ConfigError


@dataclass(frozen=True)
class AgreementConfig(Config):
    """RNN vs LSTM vs GRU word LMs at equal parameters, data, seed and steps on the `verbs`
    mix with agreement distances up to `max_distance`, scored on fresh agreement items per
    distance bucket. `buckets` are the buckets' upper edges: (5, 20, 50, 70) means 1-5,
    6-20, 21-50 and 51-70 tokens between the subject's head noun and its verb."""

    seed: int = 0
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS)
    lstm_hidden: int = opt(64, ge=1, help="sets the parameter budget; the others get the hidden")
    num_layers: int = opt(1, ge=1, help="size that comes closest to the LSTM's parameter count")
    embedding_dim: int = opt(32, ge=1)
    steps: int = opt(400, ge=1, help="per model")
    batch_size: int = opt(32, ge=1)
    window: int = opt(64, ge=1, help="truncated BPTT length in words")
    lr: float = opt(3e-3, gt=0.0)
    warmup_steps: int = opt(20, ge=0)
    sentences: int = opt(20_000, ge=10, help="training sentences of the verbs mix (three in "
                         "ten agreement sentences, plural subjects half the time)")
    agreement_share: float = opt(0.0, ge=0.0, lt=1.0, help="this share of the training "
                                 "sentences are agreement sentences added to the verbs mix, "
                                 "distances spread evenly")
    max_distance: int = opt(70, ge=1, help="agreement distances in training: 1 to this")
    buckets: tuple[int, ...] = opt((5, 20, 50, 70), ge=1, help="upper edges of the distance "
                                   "buckets")
    examples: int = opt(200, ge=1, help="test items per bucket, distances uniform in it")
    threads: int | None = opt(1, ge=1, help="small models on a shared CPU: one thread is "
                              "faster")
    device: str = opt("auto", help="as EngineConfig.device")

    def check(self) -> None:
        if list(self.buckets) != sorted(set(self.buckets)):
            raise ConfigError("buckets", self.buckets, "must be increasing upper edges, e.g. "
                              "5,20,50,70")
        if self.buckets[-1] > self.max_distance:
            raise ConfigError("buckets", self.buckets, f"reach past max_distance "
                              f"{self.max_distance}: raise --max-distance or lower the edges")


def quick_agreement(config: AgreementConfig) -> AgreementConfig:
    """The lab's `--quick` budget: seconds, not a result."""
    return replace(config, steps=30, sentences=2_000, examples=20, lstm_hidden=16)
