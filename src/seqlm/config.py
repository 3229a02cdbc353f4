"""Frozen dataclasses: the only home of seqlm's defaults.

Every command resolves its options into one of these, saves it into the run manifest (and
the checkpoint, where there is one) and rebuilds from it on load. A default written anywhere
else is a bug. `to_dict` / `from_dict` are the round trip used by manifests and checkpoints.
"""

from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from seqlm.errors import SeqlmError

T = TypeVar("T")


@dataclass(frozen=True)
class CorpusConfig:
    """Which corpus, how it is generated or found, and how it is split.

    `name` is a registry name (`seqlm data list`) or `file:PATH`. Generated corpora use
    `seed` and `size`; downloaded ones use `data_dir` (default `$SEQLM_DATA_DIR`, else the
    user cache) or an explicit local `path`.
    """

    name: str = "verbs"
    seed: int = 0
    size: int | None = None  # generated corpora: sentences or pairs; None = the corpus' default
    valid_fraction: float = 0.1
    test_fraction: float = 0.0  # 0 keeps the standard 90/10 train/valid split for text corpora
    data_dir: str | None = None
    path: str | None = None  # a local copy of a downloadable corpus
    encoding_errors: str = "strict"  # or "replace"
    plural: bool = False  # verbs: also plural persons (we, they, the dogs)
    hold_out_verbs: tuple[str, ...] = ()  # verbs: these lemmas appear only in valid/test
    regime: str = "plain"  # dates: "plain" dates or "long" inputs with distractors


@dataclass(frozen=True)
class LabConfig:
    """`seqlm lab`: every experiment built so far, into one run directory with a report."""

    quick: bool = False  # `--quick` finishes in under a minute on 2 cores
    seed: int = 0
    out: str | None = None  # None = runs/lab-<timestamp>
    overwrite: bool = False
    data_dir: str | None = None
    steps: tuple[str, ...] = ()  # empty = every registered step


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass; tuples become lists."""
    if not is_dataclass(config):
        raise TypeError(f"not a config dataclass: {config!r}")
    return asdict(config)


def from_dict(cls: type[T], data: dict[str, Any]) -> T:
    """Rebuild `cls` from `to_dict` output; unknown keys are an error that names them."""
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise SeqlmError(
            f"{cls.__name__} has no field(s) {', '.join(unknown)}: "
            "the config was written by another seqlm version or edited by hand"
        )
    values = {}
    for name, value in data.items():
        f = known[name]
        inner = f.type if isinstance(f.type, type) else None
        if inner is not None and is_dataclass(inner) and isinstance(value, dict):
            value = from_dict(inner, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[name] = value
    missing = [n for n, f in known.items() if n not in values and f.default is MISSING
               and f.default_factory is MISSING]
    if missing:
        raise SeqlmError(f"{cls.__name__} is missing field(s) {', '.join(missing)}")
    return cls(**values)  # type: ignore[call-arg]


__all__ = ["CorpusConfig", "LabConfig", "to_dict", "from_dict", "field"]


@dataclass(frozen=True)
class NgramConfig:
    """`seqlm ngram`: the n-gram model (order, smoothing, unit), its data, and how to sample."""

    order: int = 3  # 1 to 8
    smoothing: str = "mkn"  # mle, addk, kn, mkn (modified Kneser-Ney, = KenLM), stupid
    unit: str = "word"  # word, char or byte
    k: float = 1.0  # addk: the count added to every n-gram (1 = Laplace)
    alpha: float = 0.4  # stupid backoff: the factor per backed-off order (Brants et al. 2007)
    discount_fallback: bool = True  # kn/mkn: unusable discounts -> fallback_discounts + warning
    fallback_discounts: tuple[float, float, float] = (0.5, 1.0, 1.5)  # KenLM's values
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    seed: int = 0  # sampling
    temperature: float = 1.0  # sampling: p ** (1 / temperature), renormalised
    samples: int = 5  # sampling: how many sentences
    max_tokens: int = 100  # sampling: tokens per sentence at most (then cut, without </s>)
    top_k: int = 10  # predict: how many next tokens to list
    precision: str = "double"  # or "kenlm": float32 as lmplz/query (seqlm.ngram.single_precision)
    memory: str | None = None  # KenLM -S units ("500M", "2G", "80%"); None: all in memory
    temp_dir: str | None = None  # where spill files go under a memory budget (None: the OS's)
    prune: tuple[int, ...] = ()  # lmplz --prune: raw-count thresholds per order, e.g. (0, 1, 1)
    prob_bits: int = 0  # binary model: quantise log10 p to 2**bits values (0: float32)
    backoff_bits: int = 0  # binary model: quantise log10 backoffs the same way (0: float32)


@dataclass(frozen=True)
class ReferenceModelConfig:
    """A NumPy reference language model (`seqlm.reference.lm`): embedding, L cells, softmax.

    `vocab_size` comes from the data (0 = not yet known). Weights are initialised as torch
    does (uniform in +-1/sqrt(H), embedding N(0, 1)); the LSTM forget-gate bias starts at
    `forget_bias` (Jozefowicz et al. 2015) so early gradients are not cut by a closed gate.
    """

    cell: str = "lstm"  # rnn, gru or lstm
    vocab_size: int = 0
    embed_size: int = 32
    hidden_size: int = 64
    num_layers: int = 1
    forget_bias: float = 1.0
    dtype: str = "float64"  # float32 trains about twice as fast; gradchecks need float64
    seed: int = 0


@dataclass(frozen=True)
class ReferenceTrainConfig:
    """Truncated BPTT for the NumPy reference: B streams, windows of T, state carried across
    windows and cut (never backpropagated into) at each window's start."""

    batch_size: int = 16
    window: int = 25
    optimizer: str = "adam"  # sgd, adagrad (min-char-rnn) or adam
    lr: float = 3e-3
    clip_norm: float | None = 5.0  # global-norm clipping threshold; None = off
    clip_value: float | None = None  # elementwise clipping to [-v, v] (min-char-rnn uses 5)
    steps: int | None = None  # stop after this many updates ...
    seconds: float | None = None  # ... or after this much wall-clock time (whichever first)
    seed: int = 0


@dataclass(frozen=True)
class ByHandConfig:
    """`seqlm by-hand`: train a small NumPy LM on `verbs` for a few seconds (or load one), then
    walk a prompt token by token, showing hidden state, gates and top next tokens."""

    prompt: str = "i work , you work , he"
    sentences: str = "chains"  # train on the conjugation chains only, or "all" sentences
    load: str | None = None  # a model.npz from an earlier by-hand run: no training
    top_k: int = 5
    sample_tokens: int = 0  # > 0: also draw this many tokens after the prompt
    temperature: float = 1.0  # of that sample
    digits: int = 2  # rounding of the printed state vectors
    show_units: int = 6  # how many hidden units are printed per vector
    corpus: CorpusConfig = field(default_factory=CorpusConfig)
    model: ReferenceModelConfig = field(default_factory=lambda: ReferenceModelConfig(
        cell="gru", embed_size=32, hidden_size=64, dtype="float32"))
    train: ReferenceTrainConfig = field(default_factory=lambda: ReferenceTrainConfig(
        batch_size=16, window=20, lr=2e-2, seconds=6.0))
    out: str | None = None  # run directory; None = runs/by-hand-<time>
    overwrite: bool = False


@dataclass(frozen=True)
class VanishingConfig:
    """`seqlm vanishing`: analytic Jacobian products, measured gradient norms over long
    agreement sentences, and the serial cost of recurrence."""

    radii: tuple[float, ...] = (0.5, 0.9, 1.0, 1.1, 1.5)
    max_k: int = 100
    analytic_hidden: int = 64
    drive_std: float = 0.5  # input noise that moves the driven trajectory off the fixed point
    clip_norm: float = 1.0  # threshold shown on the exploding case
    cells: tuple[str, ...] = ("rnn", "lstm", "gru")
    distance: int = 50  # tokens between subject and verb
    examples: int = 24
    hidden_size: int = 32
    embed_size: int = 16
    train_steps: int = 150
    lr: float = 1e-2
    timing_lengths: tuple[int, ...] = (25, 50, 100, 200, 400)
    timing_repeats: int = 5
    timing_batch: int = 32
    timing_hidden: int = 128
    seed: int = 0
    out: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class LMConfig:
    """A recurrent language model: embedding -> recurrent layers -> dropout -> projection."""

    cell: str = "lstm"  # rnn (tanh), rnn_relu, lstm, gru
    unit: str = "char"  # char, word or byte tokens
    embedding_dim: int = 128
    hidden_size: int = 256
    num_layers: int = 2
    dropout: float = 0.2  # on embeddings, between layers and on the top layer's output
    locked_dropout: bool = False  # one dropout mask per sequence, shared over time
    tie_weights: bool = False  # share embedding and projection (needs embedding_dim == hidden)
    forget_bias: float | None = None  # LSTM: None keeps torch's init
    min_freq: int = 1  # vocabulary: drop rarer tokens (word level)
    max_vocab: int | None = None


@dataclass(frozen=True)
class ScheduleConfig:
    """Learning rate: linear warm-up, then cosine decay, plateau decay or constant."""

    lr: float = 2e-3
    warmup_steps: int = 100
    decay: str = "cosine"  # cosine, plateau or constant
    min_lr_ratio: float = 0.1  # cosine ends at lr * min_lr_ratio; plateau never goes below it
    horizon: str = "steps"  # cosine spans max_steps, or "time": the max_minutes budget
    plateau_factor: float = 0.5  # plateau: multiply the lr by this ...
    plateau_patience: int = 1  # ... after this many evaluations without improvement


@dataclass(frozen=True)
class TrainConfig:
    """`seqlm train`: data, model, optimisation and budgets of a language-model run."""

    corpus: CorpusConfig = field(default_factory=lambda: CorpusConfig(name="tinyshakespeare"))
    model: LMConfig = field(default_factory=LMConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    seed: int = 0
    batch_size: int = 32
    window: int = 100  # truncated BPTT length
    optimizer: str = "adamw"  # adamw or sgd
    weight_decay: float = 0.0
    momentum: float = 0.0  # sgd only
    clip: float = 1.0  # global gradient-norm clip; 0 disables
    max_steps: int = 2000  # also the cosine schedule's horizon (schedule.horizon "steps")
    max_minutes: float | None = None  # training-time budget, summed over resumes
    eval_every: int = 200
    eval_batch_size: int = 16
    eval_max_tokens: int | None = None  # None = the whole validation split
    patience: int | None = None  # early stopping: evaluations without improvement
    threads: int | None = None  # torch threads; None = torch's default
    log_every: int = 10  # steps between history entries (loss, grad norm, lr)


@dataclass(frozen=True)
class SampleConfig:
    """`seqlm sample`: decoding from a trained language model."""

    checkpoint: str = ""
    prime: str = ""
    length: int = 300  # tokens to generate
    temperatures: tuple[float, ...] = (0.8,)  # 0 = greedy
    top_k: int | None = None
    top_p: float | None = None
    repetition_penalty: float = 1.0  # > 1 discourages tokens already in the text (CTRL)
    beam_width: int | None = None  # beam search instead of sampling
    length_alpha: float = 0.7  # beam: score / ((5 + len) / 6) ** alpha (GNMT)
    num_samples: int = 1
    seed: int = 0


@dataclass(frozen=True)
class CompareConfig:
    """`seqlm compare`: vanilla RNN vs LSTM vs GRU at equal parameters, steps, data and seed."""

    corpus: str | None = None  # None: tinyshakespeare, or verbs (char level) if it is absent
    data_dir: str | None = None
    seed: int = 0
    cells: tuple[str, ...] = ("rnn", "lstm", "gru")
    lstm_hidden: int = 128  # sets the parameter budget; the others get the hidden size that
    num_layers: int = 2  # comes closest to the LSTM's parameter count
    embedding_dim: int = 64
    dropout: float = 0.0
    steps: int = 300
    batch_size: int = 32
    window: int = 64
    lr: float = 3e-3
    warmup_steps: int = 20
    eval_every: int = 100
    eval_max_tokens: int | None = 20_000  # of the validation split, scored statefully
    final_eval_max_tokens: int | None = None  # the table's numbers: None = whole split
    decay_window: int = 60  # ||dL/dh_{t-k}|| for k < decay_window
    sample_length: int = 200
    temperatures: tuple[float, ...] = (0.5, 0.8, 1.2)
    threads: int | None = 1  # small models on a shared CPU: one thread is much faster


def quick_compare(config: CompareConfig) -> CompareConfig:
    """A budget of seconds for `--quick` and `seqlm lab --quick`."""
    from dataclasses import replace

    return replace(config, lstm_hidden=48, embedding_dim=24, steps=40, batch_size=16,
                   window=32, eval_every=20, eval_max_tokens=4000, final_eval_max_tokens=8000,
                   decay_window=30, sample_length=60, lr=1e-2, warmup_steps=5)


@dataclass(frozen=True)
class Seq2SeqModelConfig:
    """An encoder-decoder (`seqlm.nn.seq2seq`): which cell, which attention, how wide."""

    cell: str = "gru"  # gru | lstm: seqlm's own cells (seqlm.nn.cells / seqlm.nn.recurrent)
    attention: str = "bahdanau"  # none | bahdanau | dot | general | scaled_dot
    input_feeding: bool = True  # Luong variants (dot, general, scaled_dot): feed h~_{t-1} in
    embedding_size: int = 32
    hidden_size: int = 64  # per encoder direction; the decoder has directions * hidden_size
    bidirectional: bool = True
    attention_size: int = 64  # Bahdanau: width of W s + U h before v
    max_source_len: int = 160  # longer sources are refused with a clear error
    max_target_len: int = 16  # decoding stops after this many tokens (</s> included)


@dataclass(frozen=True)
class Seq2SeqTrainConfig:
    """The seq2seq training loop (`seqlm.training.seq2seq`): budget, optimiser, sampling."""

    steps: int = 3000  # the budget is counted in optimiser steps, never in seconds
    batch_size: int = 64
    # Adam's learning rate: seqlm.training.schedule, shared with language-model training;
    # no warm-up, cosine decay from 3e-3 to 3e-4 over `steps`
    lr_schedule: ScheduleConfig = field(default_factory=lambda: ScheduleConfig(
        lr=3e-3, warmup_steps=0, decay="cosine", min_lr_ratio=0.1))
    clip: float = 1.0  # max global gradient norm
    eval_every: int = 500  # steps between validation passes (greedy exact match)
    eval_size: int = 600  # validation pairs per pass (the first ones of the split)
    seed: int = 0  # initialisation, batch order and scheduled-sampling coins
    # scheduled sampling (Bengio et al. 2015): eps_i = P(feed the gold token) at step i
    schedule: str = "none"  # none (teacher forcing) | linear | exponential | inverse_sigmoid
    ss_linear_slope: float = 1e-4  # linear: eps_i = max(ss_min_teacher, 1 - slope * i)
    ss_min_teacher: float = 0.5  # linear: floor of eps_i
    ss_exp_base: float = 0.9995  # exponential: eps_i = base ** i
    ss_sigmoid_k: float = 1000.0  # inverse sigmoid: eps_i = k / (k + exp(i / k))
    threads: int | None = 1  # torch threads: tiny matmuls run fastest on one; None = torch default


@dataclass(frozen=True)
class Seq2SeqConfig:
    """`seqlm seq2seq train`: data, model and loop, saved into the manifest and checkpoint."""

    corpus: CorpusConfig = field(default_factory=lambda: CorpusConfig(name="dates"))
    regimes: tuple[str, ...] = ("plain", "long")  # dates regimes whose training pairs are joined
    train_size: int | None = None  # use only the first N training pairs (None = all)
    model: Seq2SeqModelConfig = field(default_factory=Seq2SeqModelConfig)
    train: Seq2SeqTrainConfig = field(default_factory=Seq2SeqTrainConfig)
    out: str | None = None  # run directory; None = runs/seq2seq-train-<timestamp>
    overwrite: bool = False
    resume: bool = False  # continue from <out>/last.pt exactly where it stopped


@dataclass(frozen=True)
class Seq2SeqCompareConfig:
    """`seqlm seq2seq compare`: the pre-registered models and budget, one seed, same data."""

    preset: str = "full"  # a key of SEQ2SEQ_COMPARE_PRESETS: full | lab | quick
    seed: int = 0
    out: str | None = None
    overwrite: bool = False


@dataclass(frozen=True)
class Seq2SeqDecodeConfig:
    """How `seqlm seq2seq translate|eval` decode: greedy (beam_size 1) or beam search."""

    beam_size: int = 1  # 1 = greedy, exactly
    length_alpha: float = 1.0  # beam: rank finished hypotheses by logprob / length ** alpha
    batch_size: int = 256  # sources decoded together (greedy)


@dataclass(frozen=True)
class Seq2SeqEvalConfig:
    """`seqlm seq2seq eval`: how outputs are decoded and how the scores are broken down."""

    decode: Seq2SeqDecodeConfig = field(default_factory=Seq2SeqDecodeConfig)
    bucket_width: int = 20  # source-length buckets 1-20, 21-40, ... characters
    max_errors: int = 50  # errors listed in full (all are counted)


@dataclass(frozen=True)
class Seq2SeqComparePreset:
    """A pre-registered budget of `seqlm seq2seq compare`: fixed before any result was seen,
    the same steps, seed and data for every model (docs/seq2seq.md)."""

    steps: int  # optimiser steps per model
    size: int  # generated pairs per dates regime (split 80 / 10 / 10)
    test_size: int | None  # test pairs per regime; None = the whole test split
    eval_every: int
    eval_size: int = 600  # validation pairs (half plain, half long)
    hidden_size: int = 64
    models: tuple[str, ...] = ("none", "bahdanau", "general", "scaled_dot")  # attentions
    heatmaps: int = 2  # examples drawn per regime for each attention model
    heatmap_regimes: tuple[str, ...] = ("plain", "long")  # the regimes those come from
    regimes: tuple[str, ...] = ("plain", "long")  # dates regimes trained (joined) and tested
    bidirectional: bool = True  # the encoder of every model


SEQ2SEQ_COMPARE_PRESETS: dict[str, Seq2SeqComparePreset] = {
    "full": Seq2SeqComparePreset(steps=1500, size=20_000, test_size=None, eval_every=500),
    "lab": Seq2SeqComparePreset(steps=350, size=20_000, test_size=1000, eval_every=350,
                                eval_size=200),
    # `seqlm lab` since the seq2seq follow-up: chosen for time only, before it was run, to fit
    # ~4 minutes of CPU on an idle 2-core machine (benchmarks/bench_seq2seq_steps.py measured
    # 79 + 94 + 95 + 86 CPU ms per step for none, bahdanau, general, scaled_dot: 560 steps =
    # 198 s, plus ~12 s of data, validation, tests and plots); "lab" above is the earlier one
    "lab560": Seq2SeqComparePreset(steps=560, size=20_000, test_size=1000, eval_every=280,
                                   eval_size=200),
    # "bottleneck stress", a separate experiment registered before it was run: the same four
    # models and full budget, but a one-way encoder (its final state must carry the date from
    # wherever it sits in the message) and the long regime alone
    "stress": Seq2SeqComparePreset(steps=1500, size=20_000, test_size=None, eval_every=500,
                                   regimes=("long",), bidirectional=False,
                                   heatmap_regimes=("long",)),
    # a smoke test of seconds (`seqlm lab --quick` <= 15 s on 2 cores): every model trains,
    # is tested on both regimes, and each attention model draws one heatmap
    "quick": Seq2SeqComparePreset(steps=10, size=400, test_size=24, eval_every=10,
                                  eval_size=24, hidden_size=32, heatmaps=1,
                                  heatmap_regimes=("long",)),
}
