"""seqlm: language and sequence modelling the way it was done before transformers.

n-gram models, recurrent cells from primitives (NumPy and PyTorch), recurrent language
models, seq2seq with attention, and the experiments that show why recurrence lost.
`seqlm.train(config)` and `seqlm.load(path)` are the library's front door
(`seqlm.api`); they import torch only when called, so `import seqlm` and the
n-gram commands stay light.
"""

from seqlm.version import __version__

__all__ = ["__version__", "load", "mix", "train"]


def train(config, **options):
    """Train a model from a TrainConfig or Seq2SeqConfig (see `seqlm.api`)."""
    from seqlm.api import train as train_from_config

    return train_from_config(config, **options)


def load(path, device: str = "cpu"):
    """A trained model with `generate` and `score` (see `seqlm.api`)."""
    from seqlm.api import load as load_model

    return load_model(path, device)


def mix(models, config=None, **options):
    """Interpolate language models by EM weights (see `seqlm.lab.mix`)."""
    from seqlm.lab.mix import mix as mix_models

    return mix_models(models, config, **options)
