"""Every seqlm torch model is built here, from its resolved config and its vocabulary.

Training builds a model with `build_model` after seeding; loading a checkpoint rebuilds the
same architecture from the config saved in it, then fills in the weights. The kinds:

    lm        RecurrentLM(len(vocab), config.model)                     config: TrainConfig
    seq2seq   Seq2Seq(config.model, len(source vocab), len(target))      config: Seq2SeqConfig

Leaves out: models not trained by seqlm (torch.nn.LSTM is an oracle in tests only).
"""

from typing import Any

from torch import nn

from seqlm.nn.lm import RecurrentLM
from seqlm.nn.seq2seq import Seq2Seq

KINDS = ("lm", "seq2seq")


def build_model(kind: str, config: Any, vocab: Any) -> nn.Module:
    """A freshly initialised model of `kind` (its weights follow torch's global RNG)."""
    if kind == "lm":
        return RecurrentLM(len(vocab), config.model)
    if kind == "seq2seq":
        return Seq2Seq(config.model, len(vocab.source), len(vocab.target))
    raise ValueError(f"unknown model kind {kind!r}; known: {', '.join(KINDS)}")
