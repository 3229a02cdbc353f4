"""Recurrent language models: the model, the learning-rate schedule, training, evaluation,
sampling and the cell comparison."""

from dataclasses import dataclass
from typing import ClassVar

from seqlm.config.data import SPLITS, UNITS, CorpusConfig
from seqlm.config.engine import DEVICE_HELP, EngineConfig, ScheduleConfig
from seqlm.config.fields import Config, Options, merge, opt
from seqlm.errors import ConfigError

# beam search's length normalisation, one default for every model (GNMT's alpha; docs)
LENGTH_ALPHA = 0.7
LM_CELLS = ("rnn", "rnn_relu", "lstm", "gru", "mingru", "minlstm")
KERNELS = ("auto", "compiled", "eager")  # seqlm.nn.fast.kernels.resolve
BACKENDS = ("seqlm", "torch")  # seqlm.nn.lm.build_recurrent
TORCH_BACKEND_CELLS = ("rnn", "rnn_relu", "lstm", "gru")
TABLE_ROW_COST = 4  # seqlm.nn.fast.table: a gathered or scattered element, in multiply-adds
SCANS = ("sequential", "log", "chunked")  # seqlm.nn.scan.SCANS (a test keeps them equal)
RECURRENCES = ("sequential", "newton")  # gru / lstm: the step loop, or seqlm.nn.newton
SPEED_VARIANTS = ("mingru-seq", "mingru-log", "mingru-chunk", "torch-gru", "torch-lstm",
                  "seqlm-gru", "seqlm-lstm")  # the revival chapter's timed training paths
RUNTIMES = ("torch", "onnx")  # `seqlm sample --runtime`: seqlm.export.onnx_runtime
TIMED_STEP_CAP = 10**9  # `seqlm compare --minutes` without --steps: time alone decides


@dataclass(frozen=True)
class LMConfig(Config):
    """A recurrent language model: embedding -> recurrent layers -> dropout -> projection."""

    cell: str = opt("lstm", choices=LM_CELLS, help="rnn (tanh), rnn_relu, lstm, gru, mingru, "
                    "minlstm")
    unit: str = opt("char", choices=UNITS)
    embedding_dim: int = opt(128, ge=1)
    hidden_size: int = opt(256, ge=1)
    num_layers: int = opt(2, ge=1)
    dropout: float = opt(0.2, ge=0.0, lt=1.0, help="on embeddings, between layers, on the output")
    locked_dropout: bool = opt(False, help="one dropout mask per sequence, shared over time")
    weight_drop: float = opt(0.0, ge=0.0, lt=1.0, help="rnn / rnn_relu / lstm / gru: "
                             "DropConnect on the recurrent weights W_hh, one mask per batch "
                             "(AWD-LSTM)")
    tie_weights: bool = opt(False, help="share embedding and projection (needs embedding_dim == "
                            "hidden)")
    forget_bias: float | None = opt(None, help="LSTM: None keeps torch's init")
    min_freq: int = opt(1, ge=1, help="vocabulary: drop rarer tokens (word level)")
    max_vocab: int | None = opt(None, ge=1, help="vocabulary: ordinary tokens kept at most")
    scan: str = opt("sequential", choices=SCANS, help="mingru / minlstm only: how the recurrence "
                                                      "is computed (sequential, log or chunked); "
                                                      "the three paths compute the same function "
                                                      "(float32 agreement ~1e-6, docs/minrnn.md); "
                                                      "sequential is fastest on CPU here")
    scan_chunk: int = opt(64, ge=1, help="chunked: steps per chunk (bounds the log form's error)")
    residual: bool = opt(False, help="add each layer's input to its output where the widths match")
    layer_norm: bool = opt(False, help="LayerNorm on the input of every layer above the first")
    # Newton's method over the sequence (seqlm.nn.newton, docs/newton.md)
    recurrence: str = opt("sequential", choices=RECURRENCES, help="gru / lstm only: the step "
                          "loop, or Newton's method over the whole window (DEER / ParaRNN)")
    newton_iterations: int = opt(50, ge=1, help="newton: iteration cap (the window's length "
                                 "always suffices)")
    newton_tolerance: float = opt(1e-5, ge=0.0, help="newton: stop when max |f(s_{t-1}) - s_t| "
                                  "is at most this")
    newton_jacobian: str = opt("full", choices=("full", "diagonal"), help="newton: the dense "
                               "state Jacobian (Newton) or its diagonal (quasi-Newton, more "
                               "iterations)")
    newton_solver: str = opt("loop", choices=("loop", "scan"), help="newton: each linear "
                             "recurrence step by step, or by a log-depth scan (parallel, "
                             "O(T H^3 log T) work)")
    newton_unconverged: str = opt("error", choices=("error", "warn"), help="newton: the cap "
                                  "reached above the tolerance is an error, or a warning")
    kernels: str = opt("auto", choices=KERNELS, help="rnn / rnn_relu / lstm / gru on the CPU: "
                       "each step's elementwise work as compiled C++ kernels (built with g++ "
                       "and ninja on first use, cached), eager torch ops, or auto (compiled "
                       "where they build, else eager with a note); same numbers to ~1e-6")
    backend: str = opt("seqlm", choices=BACKENDS, help="rnn / rnn_relu / lstm / gru: seqlm's "
                       "own layers, or torch.nn's fused kernels (oneDNN, cuDNN) on the same "
                       "weights; checkpoints load into either")

    def check(self) -> None:
        if self.recurrence == "newton" and self.cell not in ("gru", "lstm"):
            raise ConfigError("recurrence", self.recurrence, f"is written for gru and lstm, "
                              f"not {self.cell}: use --cell gru or --cell lstm")
        if self.backend == "torch" and self.recurrence == "newton":
            raise ConfigError("backend", "torch", "has no Newton solver: use --backend seqlm "
                              "with --recurrence newton")
        if self.backend == "torch" and self.cell not in TORCH_BACKEND_CELLS:
            raise ConfigError("backend", "torch", f"runs {', '.join(TORCH_BACKEND_CELLS)}, not "
                              f"{self.cell}: use --backend seqlm")
        if self.weight_drop > 0 and (self.backend == "torch" or
                                     self.cell not in ("rnn", "rnn_relu", "lstm", "gru")):
            raise ConfigError("weight_drop", self.weight_drop, "masks seqlm's own rnn, "
                              "rnn_relu, lstm and gru weights: use --backend seqlm with one "
                              "of them, or --weight-drop 0")
        if self.tie_weights and self.embedding_dim != self.hidden_size:
            raise ConfigError("tie_weights", True, f"needs embedding_dim == hidden_size, got "
                              f"{self.embedding_dim} and {self.hidden_size}")


@dataclass(frozen=True)
class TrainConfig(Config):
    """`seqlm train`: data, model, windows and the training loop of a language-model run."""

    corpus: CorpusConfig = opt(factory=lambda: CorpusConfig(name="tinyshakespeare"))
    model: LMConfig = opt(factory=LMConfig)
    engine: EngineConfig = opt(factory=EngineConfig)
    seed: int = 0
    batch_size: int = opt(32, ge=1, help="streams per micro-batch (x engine.accumulate per "
                          "update)")
    window: int = opt(100, ge=1, help="truncated BPTT length")
    eval_batch_size: int = opt(16, ge=1)
    eval_max_tokens: int | None = opt(None, ge=2, help="None = the whole validation split")
    final_eval_max_tokens: int | None = opt(None, ge=2, help="the score after training (best "
                                            "weights): None = the whole validation split")


# `seqlm train --corpus NAME` without --config starts from these sizes: runs of about a minute
# on 2 CPU cores (the README's examples, timed there); long runs live in configs/*.json.
# Like every preset in seqlm.config: a dict of partial overrides, laid on by `fields.merge`.
TRAIN_PRESETS: dict[str, dict] = {
    "tinyshakespeare": {"model": {"hidden_size": 256, "num_layers": 1, "dropout": 0.0},
                        "window": 64, "eval_max_tokens": 20_000,
                        "final_eval_max_tokens": 20_000,
                        "engine": {"max_steps": 200, "eval_every": 100,
                                   "schedule": {"lr": 3e-3, "warmup_steps": 20}}},
    "verbs": {"model": {"unit": "word", "embedding_dim": 64, "hidden_size": 128,
                        "num_layers": 1, "dropout": 0.0},
              "window": 32,
              "engine": {"max_steps": 300, "eval_every": 150,
                         "schedule": {"lr": 1e-2, "warmup_steps": 20}}},
    "brackets": {"model": {"embedding_dim": 16, "hidden_size": 64, "num_layers": 1,
                           "dropout": 0.0},
                 "window": 64, "engine": {"max_steps": 300, "eval_every": 150,
                                          "schedule": {"lr": 1e-2, "warmup_steps": 20}}},
}


def train_preset(corpus: str) -> TrainConfig:
    """The TrainConfig `seqlm train --corpus corpus` starts from: TrainConfig's defaults with
    the corpus's preset (if it has one) laid over them."""
    return merge(TrainConfig(corpus=CorpusConfig(name=corpus)), TRAIN_PRESETS.get(corpus, {}))


@dataclass(frozen=True)
class EvalConfig(Config):
    """`seqlm eval`: scoring a trained LM statefully on a split or a text file."""

    checkpoint: str = ""
    split: str = opt("valid", choices=SPLITS, help="split of the model's corpus")
    text_file: str | None = opt(None, help="score this UTF-8 file instead of a split")
    batch_size: int = opt(16, ge=1, help="rows read side by side")
    window: int | None = opt(None, ge=1, help="tokens per forward call; None = the training "
                             "window")
    max_tokens: int | None = opt(None, ge=2, help="score only the first N tokens")
    device: str = opt("auto", help=DEVICE_HELP)


@dataclass(frozen=True)
class SampleConfig(Config):
    """`seqlm sample`: decoding from a trained language model."""

    checkpoint: str = ""
    prime: str = opt("", help="text to continue")
    length: int = opt(300, ge=1, le=1_000_000, help="tokens to generate")
    temperatures: tuple[float, ...] = opt((0.8,), ge=0.0, help="one or more temperatures; 0 = "
                                          "greedy")
    top_k: int | None = opt(None, ge=1, help="sample among the k likeliest tokens only")
    top_p: float | None = opt(None, gt=0.0, le=1.0, help="sample among the likeliest tokens "
                              "whose mass reaches p (nucleus)")
    repetition_penalty: float = opt(1.0, gt=0.0, help="> 1 discourages tokens already seen (CTRL)")
    beam_width: int | None = opt(None, ge=1, le=1000, help="beam search instead of sampling")
    length_alpha: float = opt(LENGTH_ALPHA, ge=0.0, help="beam: score / ((5 + len) / 6) ** alpha")
    num_samples: int = opt(1, ge=1, le=10_000, help="samples per temperature")
    seed: int = 0
    device: str = opt("auto", help=DEVICE_HELP)
    runtime: str = opt("torch", choices=RUNTIMES, help="onnx: the model's step exported to "
                       "ONNX and run by onnxruntime (pip install 'seqlm[onnx]'); the same "
                       "sampling rule")

    def check(self) -> None:
        if not self.temperatures:
            raise ConfigError("temperatures", (), "must hold at least one temperature")
        if self.runtime == "onnx" and self.beam_width is not None:
            raise ConfigError("beam_width", self.beam_width, "beam search runs on the torch "
                              "runtime only: drop --beam-width or --runtime onnx")


def compare_run() -> TrainConfig:
    """The base run of `seqlm compare`: character LMs of 2 layers, the LSTM at hidden 128."""
    return TrainConfig(
        corpus=CorpusConfig(name="tinyshakespeare"),
        model=LMConfig(cell="lstm", unit="char", embedding_dim=64, hidden_size=128,
                       num_layers=2, dropout=0.0),
        engine=EngineConfig(schedule=ScheduleConfig(lr=3e-3, warmup_steps=20), max_steps=300,
                            eval_every=100, threads=1),
        batch_size=32, window=64, eval_max_tokens=20_000)


@dataclass(frozen=True)
class CompareConfig(Config):
    """`seqlm compare`: vanilla RNN vs LSTM vs GRU (and minGRU, minLSTM) at equal parameters,
    data and seed, and at equal steps or (with `train.engine.max_minutes`) at equal
    wall-clock time. `train` is the run every cell's is derived from: the cell and the hidden
    size vary (the LSTM at `train.model.hidden_size`, the others matched to its parameter
    count); a time budget makes the cosine span the time."""

    train: TrainConfig = opt(factory=compare_run)
    fallback: str | None = opt("verbs", help="where train.corpus cannot be had (not "
                               "downloaded): train on this corpus instead, at character "
                               "level; None or the corpus itself: stop with the error")
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=LM_CELLS, help="cells to "
                                 "compare, each named once")
    decay_window: int = opt(60, ge=2, help="||dL/dh_{t-k}|| for k < decay_window")
    decay_rows: int = opt(8, ge=1, help="rows of validation text the gradient norms average")
    sample_length: int = opt(200, ge=1)
    temperatures: tuple[float, ...] = opt((0.5, 0.8, 1.2), ge=0.0)

    OPTIONS: ClassVar[Options] = {
        "train.engine.max_steps": ("--steps", "training steps per model; with `minutes` "
                                              "only a cap"),
        "train.engine.max_minutes": ("--minutes", "equal wall-clock time: each model trains "
                                     "this many minutes (training time, its validation "
                                     "passes included), the cosine spanning the budget; None "
                                     "= equal steps"),
        "train.corpus.name": ("--corpus", "tinyshakespeare (where it is absent and no "
                              "--corpus is given: verbs, char level), another corpus name or "
                              "file:PATH"),
        "train.corpus.data_dir": ("--data-dir", None),
        "train.seed": ("--seed", "the data, the weights and the batches of every model"),
        "train.engine.threads": ("--threads", "small models on a shared CPU: one thread is "
                                              "faster"),
        "train.engine.device": ("--device", None),
    }

    def check(self) -> None:
        if len(set(self.cells)) < len(self.cells):
            raise ConfigError("cells", self.cells, "names a cell twice: name each once")


# `--quick` and `seqlm lab --quick`: a budget of seconds
QUICK_COMPARE: dict = {
    "train": {"model": {"hidden_size": 48, "embedding_dim": 24}, "batch_size": 16,
              "window": 32, "eval_max_tokens": 4000, "final_eval_max_tokens": 8000,
              "engine": {"max_steps": 40, "eval_every": 20,
                         "schedule": {"lr": 1e-2, "warmup_steps": 5}}},
    "decay_window": 30, "sample_length": 60}
# equal time with no step budget given: time alone decides
TIMED_COMPARE: dict = {"train": {"engine": {"max_steps": TIMED_STEP_CAP}}}


# the revival's comparison: minGRU / minLSTM against the LSTM at equal time (a quarter minute
# each); its scan-precision table measures the chunked scan at compare.train.model.scan_chunk
REVIVAL_COMPARE: dict = {
    "cells": ["lstm", "mingru", "minlstm"], "temperatures": [0.8],
    "train": {"engine": {"max_minutes": 0.25, "max_steps": TIMED_STEP_CAP,
                         "eval_every": 10**9},
              "eval_max_tokens": 5000, "final_eval_max_tokens": 30_000}}


@dataclass(frozen=True)
class RevivalConfig(Config):
    """The lab's closing chapter, "how recurrence came back" (`seqlm.lab.revival`):
    minGRU's scan paths against T, their float32 error, and minGRU / minLSTM against the LSTM
    at equal wall-clock time (the `compare` settings, `compare.train.engine.max_minutes` per
    model)."""

    speed_lengths: tuple[int, ...] = opt((64, 256, 1024), ge=1)
    speed_variants: tuple[str, ...] = opt(
        ("mingru-seq", "mingru-log", "mingru-chunk", "torch-gru", "torch-lstm", "seqlm-lstm"),
        choices=SPEED_VARIANTS, help="the training paths timed against T (seqlm.lab.scan_speed)")
    speed_batch: int = opt(4, ge=1)
    speed_embed: int = opt(64, ge=1)
    speed_hidden: int = opt(128, ge=1)
    speed_repeats: int = opt(3, ge=1)
    speed_threads: int = opt(1, ge=1, help="torch threads while timing (steadier on a shared CPU)")
    precision_lengths: tuple[int, ...] = opt((64, 256, 1024, 4096, 16384), ge=1)
    precision_batch: int = opt(4, ge=1)
    precision_hidden: int = opt(32, ge=1)
    newton_lengths: tuple[int, ...] = opt((64, 256), ge=1, help="Newton's convergence: T of "
                                          "the validation windows")
    newton_windows: int = opt(4, ge=1, help="Newton's convergence: windows (rows) per T")
    newton_speed_lengths: tuple[int, ...] = opt((64, 256), ge=1, help="Newton's training "
                                                "step against T")
    newton_hidden: int = opt(32, ge=1, help="Newton's speed: H of the timed GRU")
    compare: CompareConfig = opt(factory=lambda: merge(CompareConfig(), REVIVAL_COMPARE))

    def check(self) -> None:
        if "torch-gru" not in self.speed_variants or "mingru-seq" not in self.speed_variants:
            raise ConfigError("speed_variants", self.speed_variants, "must hold torch-gru and "
                              "mingru-seq (the references of its ratios)")


# seconds for `seqlm lab --quick`: laid over RevivalConfig in this order (the comparison at
# `--quick`'s budget, then a hundredth of its time, time alone deciding as in the full lab)
QUICK_REVIVAL: tuple[dict, ...] = (
    {"speed_lengths": [128], "speed_batch": 4, "speed_hidden": 32, "speed_repeats": 1,
     "speed_variants": ["mingru-seq", "mingru-log", "mingru-chunk", "torch-gru"],
     "precision_lengths": [64, 1024, 4096], "precision_hidden": 8, "newton_lengths": [64],
     "newton_windows": 2, "newton_speed_lengths": [64], "newton_hidden": 16,
     "compare": QUICK_COMPARE},
    {"compare": {"train": {"engine": {"max_minutes": 0.005, "max_steps": TIMED_STEP_CAP},
                           "eval_max_tokens": 1000, "final_eval_max_tokens": 1000},
                 "sample_length": 20, "decay_window": 10}})
