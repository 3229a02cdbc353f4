"""The smallest language-model run that still has history entries, evaluations and samples."""

from seqlm.config import CorpusConfig, EngineConfig, LMConfig, TrainConfig


def tiny_lm(max_steps: int = 8) -> TrainConfig:
    return TrainConfig(corpus=CorpusConfig(name="verbs", size=400),
                       model=LMConfig(cell="gru", unit="word", embedding_dim=8, hidden_size=16,
                                      num_layers=2),
                       engine=EngineConfig(max_steps=max_steps, eval_every=4, log_every=2,
                                           threads=1),
                       batch_size=4, window=8, eval_max_tokens=200, final_eval_max_tokens=300)
