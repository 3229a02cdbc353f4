"""Samples over training: the same prime, seed and temperature at log-spaced updates (1, 2,
5, 10, 20, 50, ...), so a run's page shows text turning from noise into the corpus's shape
(lab 01's "samples become English-like over training").

`SampleTrail` is an engine listener: at the first history entry at or past each log-spaced
update it samples from the weights of that moment (eval mode, no gradient) and records
`{"step", "text"}`; the live report puts the trail into the manifest. Sampling draws from
its own seeded generator and leaves the model's training mode and every training RNG as they
were, so exact resume is untouched. Leaves out: a trail across resumes (a resumed run starts
its trail at the next log-spaced update after it resumed).
"""

from dataclasses import replace
from typing import Any

from seqlm.config import SampleConfig

TRAIL_LENGTH = 120  # tokens per sample on the page
TRAIL_TEMPERATURE = 0.8
TRAIL_SEED = 0


def log_spaced(after: int) -> int:
    """The first update of 1, 2, 5, 10, 20, 50, ... that is above `after`."""
    scale = 1
    while True:
        for m in (1, 2, 5):
            if m * scale > after:
                return m * scale
        scale *= 10


class SampleTrail:
    """Records a sample at log-spaced updates into `samples` (see the module docstring)."""

    def __init__(self, vocab, unit: str, length: int = TRAIL_LENGTH):
        self.vocab, self.unit, self.length = vocab, unit, length
        self.samples: list[dict[str, Any]] = []
        self.next_step: int | None = None

    def history(self, entry: dict[str, float], engine) -> None:
        step = engine.position.step
        if self.next_step is None:  # a fresh run from update 1; a resumed one from here on
            fresh = len(engine.history) <= 1
            self.next_step = 1 if fresh else log_spaced(step - 1)
        if step < self.next_step:
            return
        self.samples.append({"step": step, "text": self.sample(engine.model)})
        self.next_step = log_spaced(step)

    def evaluation(self, metrics: dict[str, float], engine) -> None:
        pass

    def sample(self, model) -> str:
        from seqlm.decoding.lm_text import decode_samples

        config = replace(SampleConfig(), length=self.length, temperatures=(TRAIL_TEMPERATURE,),
                         seed=TRAIL_SEED)
        was_training = model.training
        try:
            return decode_samples(model, self.vocab, self.unit, config)[0]["text"]
        finally:
            model.train(was_training)
