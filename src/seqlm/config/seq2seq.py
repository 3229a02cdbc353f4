"""Seq2seq on dates: the encoder-decoder, its training loop, decoding, evaluation and the
pre-registered attention comparison."""

from dataclasses import dataclass

from seqlm.config.data import REGIMES, CorpusConfig
from seqlm.config.engine import DEVICE_HELP, EngineConfig, ScheduleConfig
from seqlm.config.fields import Config, merge, opt
from seqlm.config.lm import LENGTH_ALPHA, RUNTIMES
from seqlm.errors import ConfigError

ATTENTIONS = ("none", "bahdanau", "dot", "general", "scaled_dot")
SAMPLING_SCHEDULES = ("none", "linear", "exponential", "inverse_sigmoid")


@dataclass(frozen=True)
class Seq2SeqModelConfig(Config):
    """An encoder-decoder (`seqlm.nn.seq2seq`): which cell, which attention, how wide."""

    cell: str = opt("gru", choices=("gru", "lstm"), help="seqlm's own cells")
    attention: str = opt("bahdanau", choices=ATTENTIONS)
    input_feeding: bool = opt(True, help="Luong variants (dot, general, scaled_dot): feed "
                              "h~_{t-1} in")
    embedding_dim: int = opt(32, ge=1)
    hidden_size: int = opt(64, ge=1, help="per encoder direction; the decoder has D * hidden_size")
    bidirectional: bool = True
    attention_size: int = opt(64, ge=1, help="Bahdanau: width of W s + U h before v")
    max_source_len: int = opt(160, ge=1, help="longer sources are refused with a clear error")
    max_target_len: int = opt(16, ge=1, help="decoding stops after this many tokens (</s> "
                              "included)")


@dataclass(frozen=True)
class Seq2SeqTrainConfig(Config):
    """What seq2seq training adds to the shared loop: batches, validation size, and
    scheduled sampling (Bengio et al. 2015): eps_i = P(feed the gold token) at update i."""

    batch_size: int = opt(64, ge=1, help="pairs per micro-batch (x engine.accumulate per update)")
    eval_size: int = opt(600, ge=1, help="validation pairs per pass (the first ones of the split)")
    seed: int = opt(0, help="initialisation, batch order and scheduled-sampling coins")
    sampling: str = opt("none", choices=SAMPLING_SCHEDULES, help="none = teacher forcing")
    ss_linear_slope: float = opt(1e-4, ge=0.0, help="linear: eps_i = max(min_teacher, 1 - slope "
                                 "i)")
    ss_min_teacher: float = opt(0.5, ge=0.0, le=1.0, help="linear: floor of eps_i")
    ss_exp_base: float = opt(0.9995, gt=0.0, le=1.0, help="exponential: eps_i = base ** i")
    ss_sigmoid_k: float = opt(1000.0, ge=1.0, help="inverse sigmoid: eps_i = k / (k + exp(i / k))")


def seq2seq_engine() -> EngineConfig:
    """The loop's seq2seq defaults: Adam, no warm-up, cosine from 3e-3 to 3e-4 over a fixed
    step budget (never seconds), one torch thread (tiny matmuls run fastest on one)."""
    return EngineConfig(optimizer="adam", schedule=ScheduleConfig(
        lr=3e-3, warmup_steps=0, decay="cosine", min_lr_ratio=0.1), clip=1.0, max_steps=3000,
        eval_every=500, log_every=50, threads=1)


@dataclass(frozen=True)
class Seq2SeqConfig(Config):
    """`seqlm seq2seq train`: data, model and loop, saved into the manifest and checkpoint."""

    corpus: CorpusConfig = opt(factory=lambda: CorpusConfig(name="dates"))
    regimes: tuple[str, ...] = opt(REGIMES, choices=REGIMES, help="dates regimes joined in "
                                   "training")
    train_size: int | None = opt(None, ge=1, help="use only the first N training pairs")
    model: Seq2SeqModelConfig = opt(factory=Seq2SeqModelConfig)
    train: Seq2SeqTrainConfig = opt(factory=Seq2SeqTrainConfig)
    engine: EngineConfig = opt(factory=seq2seq_engine)


@dataclass(frozen=True)
class Seq2SeqDecodeConfig(Config):
    """How `seqlm seq2seq translate|eval` decode: greedy (beam_width 1) or beam search."""

    beam_width: int = opt(1, ge=1, help="1 = greedy, exactly")
    length_alpha: float = opt(LENGTH_ALPHA, ge=0.0, help="beam: logprob / ((5 + len) / 6) ** "
                              "alpha")
    batch_size: int = opt(256, ge=1, help="sources decoded together (greedy)")
    device: str = opt("auto", help=DEVICE_HELP)
    runtime: str = opt("torch", choices=RUNTIMES, help="onnx: greedy decoding through the "
                       "exported encoder and decoder step, run by onnxruntime (pip install "
                       "'seqlm[onnx]')")

    def check(self) -> None:
        if self.runtime == "onnx" and self.beam_width != 1:
            raise ConfigError("beam_width", self.beam_width, "beam search runs on the torch "
                              "runtime only: drop --beam-width or --runtime onnx")


@dataclass(frozen=True)
class Seq2SeqEvalConfig(Config):
    """`seqlm seq2seq eval`: how outputs are decoded and how the scores are broken down."""

    checkpoint: str = opt("", help="a checkpoint file or a run directory (its best.pt)")
    tsv: str | None = opt(None, help="score these source<TAB>target lines instead of the test "
                          "splits")
    held_out_formats: bool = opt(False, help="score the date formats held out of the model's "
                                 "training (fresh dates in them)")
    held_out_size: int = opt(200, ge=1, help="pairs per held-out format and regime")
    decode: Seq2SeqDecodeConfig = opt(factory=Seq2SeqDecodeConfig)
    bucket_width: int = opt(20, ge=1, help="source-length buckets 1-20, 21-40, ... characters")
    max_errors: int = opt(50, ge=0, help="errors listed in full (all are counted)")


@dataclass(frozen=True)
class Seq2SeqComparePreset(Config):
    """A pre-registered budget of `seqlm seq2seq compare`: fixed before any result was seen,
    the same steps, seed and data for every model (docs/seq2seq.md). `base` is the training
    run every model's is derived from (the attention varies; the seed and device are the
    command's): its steps, pairs per regime (`corpus.size`, split 80 / 10 / 10), validation
    pairs, regimes, encoder and the date formats held out of training
    (`corpus.hold_out_formats`, each then tested on `held_out_size` fresh pairs per regime:
    generalisation to surface forms never seen)."""

    base: Seq2SeqConfig = opt(factory=Seq2SeqConfig)
    test_size: int | None = opt(None, ge=1, help="test pairs per regime; None = the whole "
                                "test split")
    models: tuple[str, ...] = opt(("none", "bahdanau", "general", "scaled_dot"),
                                  choices=ATTENTIONS)
    heatmaps: int = opt(2, help="examples drawn per regime for each attention model")
    heatmap_regimes: tuple[str, ...] = opt(REGIMES, choices=REGIMES, help="where those come from")
    held_out_size: int = opt(100, ge=1, help="fresh pairs per held-out format and regime")


# the lab's held-out formats: a two-digit-year form whose siblings (other separators) are
# seen, a punctuation variant of a seen ordinal form, a spacing variant of ISO, and a
# weekday form made of seen parts in an unseen order
LAB_HELD_OUT_FORMATS = ("dmy_dot_yy", "the_ordinal_of_month_comma", "iso_spaced",
                        "wkd_mon_day_year")


# the presets, each a dict of overrides laid over Seq2SeqComparePreset() (`compare_preset`):
# steps, validation cadence, pairs per regime and validation pairs of the base run first
SEQ2SEQ_COMPARE_PRESETS: dict[str, dict] = {
    "full": {"base": {"engine": {"max_steps": 1500, "eval_every": 500},
                      "corpus": {"size": 20_000}}},
    "lab": {"base": {"engine": {"max_steps": 350, "eval_every": 350},
                     "corpus": {"size": 20_000}, "train": {"eval_size": 200}},
            "test_size": 1000},
    # `seqlm lab` since the seq2seq follow-up: chosen for time only, before it was run, to fit
    # ~4 minutes of CPU on an idle 2-core machine (benchmarks/bench_seq2seq_steps.py measured
    # 79 + 94 + 95 + 86 CPU ms per step for none, bahdanau, general, scaled_dot: 560 steps =
    # 198 s, plus ~12 s of data, validation, tests and plots); "lab" above is the earlier one
    "lab560": {"base": {"engine": {"max_steps": 560, "eval_every": 280},
                        "corpus": {"size": 20_000}, "train": {"eval_size": 200}},
               "test_size": 1000},
    # `seqlm lab` since the 42-format dates corpus: lab560 with four formats held out of
    # training and tested apart (registered before it was run; docs/seq2seq.md)
    "lab560h": {"base": {"engine": {"max_steps": 560, "eval_every": 280},
                         "corpus": {"size": 20_000, "hold_out_formats": LAB_HELD_OUT_FORMATS},
                         "train": {"eval_size": 200}},
                "test_size": 1000},
    # "bottleneck stress", a separate experiment registered before it was run: the same four
    # models and full budget, but a one-way encoder (its final state must carry the date from
    # wherever it sits in the message) and the long regime alone
    "stress": {"base": {"engine": {"max_steps": 1500, "eval_every": 500},
                        "corpus": {"size": 20_000}, "regimes": ("long",),
                        "model": {"bidirectional": False}},
               "heatmap_regimes": ("long",)},
    # a smoke test of seconds (`seqlm lab --quick` <= 15 s on 2 cores): every model trains,
    # is tested on both regimes, and each attention model draws one heatmap
    "quick": {"base": {"engine": {"max_steps": 10, "eval_every": 10},
                       "corpus": {"size": 400, "hold_out_formats": LAB_HELD_OUT_FORMATS[:2]},
                       "train": {"eval_size": 24}, "model": {"hidden_size": 32}},
              "test_size": 24, "heatmaps": 1, "heatmap_regimes": ("long",),
              "held_out_size": 8},
}


def compare_preset(name: str) -> Seq2SeqComparePreset:
    """The preset `name` of `seqlm seq2seq compare`, resolved."""
    return merge(Seq2SeqComparePreset(), SEQ2SEQ_COMPARE_PRESETS[name])


@dataclass(frozen=True)
class Seq2SeqCompareConfig(Config):
    """`seqlm seq2seq compare`: the pre-registered models and budget, one seed, same data."""

    preset: str = opt("full", choices=tuple(SEQ2SEQ_COMPARE_PRESETS))
    seed: int = 0
    device: str = opt("auto", help=DEVICE_HELP)
    out: str | None = None
    overwrite: bool = False
