"""The NumPy reference: its model, its truncated-BPTT training, `seqlm by-hand` and
`seqlm vanishing`."""

from dataclasses import dataclass

from seqlm.config.data import CorpusConfig
from seqlm.config.fields import Config, opt

REFERENCE_CELLS = ("rnn", "gru", "lstm")


@dataclass(frozen=True)
class ReferenceModelConfig(Config):
    """A NumPy reference language model (`seqlm.reference.lm`): embedding, L cells, softmax.

    `vocab_size` comes from the data (0 = not yet known). Weights are initialised as torch
    does (uniform in +-1/sqrt(H), embedding N(0, 1)); the LSTM forget-gate bias starts at
    `forget_bias` (Jozefowicz et al. 2015) so early gradients are not cut by a closed gate.
    """

    cell: str = opt("lstm", choices=REFERENCE_CELLS)
    vocab_size: int = opt(0, ge=0)
    embedding_dim: int = opt(32, ge=1)
    hidden_size: int = opt(64, ge=1)
    num_layers: int = opt(1, ge=1)
    forget_bias: float = 1.0
    dtype: str = opt("float64", choices=("float32", "float64"), help="float32 trains about twice "
                     "as fast; gradchecks need float64")
    seed: int = 0


@dataclass(frozen=True)
class ReferenceTrainConfig(Config):
    """Truncated BPTT for the NumPy reference: B streams, windows of T, state carried across
    windows and cut (never backpropagated into) at each window's start."""

    batch_size: int = opt(16, ge=1)
    window: int = opt(25, ge=1, help="TBPTT length")
    optimizer: str = opt("adam", choices=("sgd", "adagrad", "adam"), help="adagrad: min-char-rnn")
    lr: float = opt(3e-3, gt=0.0)
    decay: str = opt("constant", choices=("constant", "linear"), help="linear: the rate falls in "
                     "a straight line to lr * min_lr_ratio at the last of `steps`")
    min_lr_ratio: float = opt(0.05, ge=0.0, le=1.0)
    clip_norm: float | None = opt(5.0, gt=0.0, help="global-norm clipping threshold; None = off")
    clip_value: float | None = opt(None, gt=0.0, help="elementwise clip to [-v, v] (min-char-rnn "
                                   "5)")
    steps: int | None = opt(None, ge=1, help="stop after this many updates (the same model on "
                            "every machine) ...")
    seconds: float | None = opt(None, gt=0.0, help="... or this much wall-clock time (first "
                                "wins; faster machines train further)")
    seed: int = 0


@dataclass(frozen=True)
class ByHandConfig(Config):
    """`seqlm by-hand`: train a small NumPy LM on `verbs` for a few seconds (or load one), then
    walk a prompt token by token, showing hidden state, gates and top next tokens."""

    prompt: str = opt("i work , you work , he", help="space-separated words to walk")
    sentences: str = opt("chains", choices=("chains", "all"), help="train on the conjugation "
                         "chains only, or on every sentence")
    load: str | None = opt(None, help="a model.npz from an earlier by-hand run: no training")
    top_k: int = opt(5, ge=1, help="next-token guesses shown per step")
    sample_tokens: int = opt(0, ge=0, help="> 0: also draw this many tokens after the prompt")
    temperature: float = opt(1.0, gt=0.0, help="of that sample: below 1 sharper, above 1 "
                             "flatter")
    digits: int = opt(2, ge=0, help="rounding of the printed state vectors")
    show_units: int = opt(6, ge=1, help="how many hidden units are printed per vector")
    corpus: CorpusConfig = opt(factory=CorpusConfig)
    model: ReferenceModelConfig = opt(factory=lambda: ReferenceModelConfig(
        cell="gru", embedding_dim=32, hidden_size=64, dtype="float32"))
    # a step budget, not seconds: the same command gives the same model on every machine.
    # 1600 Adam steps at 2e-2 decayed linearly to 1e-3 is what the plain RNN needs to rank
    # "works" first after "i work , you work , he" (seeds 0-2; the GRU needs ~300, the LSTM
    train: ReferenceTrainConfig = opt(factory=lambda: ReferenceTrainConfig(
        batch_size=16, window=20, lr=2e-2, decay="linear", steps=1600), help="~1600 at this rate; "
                                      "measured in docs/reference.md)")
    out: str | None = opt(None, help="run directory; None = runs/by-hand-<time>")
    overwrite: bool = False


@dataclass(frozen=True)
class VanishingConfig(Config):
    """`seqlm vanishing`: analytic Jacobian products, measured gradient norms over long
    agreement sentences, and the serial cost of recurrence."""

    radii: tuple[float, ...] = opt((0.5, 0.9, 1.0, 1.1, 1.5), gt=0.0)
    max_k: int = opt(100, ge=1, help="longest Jacobian product")
    analytic_hidden: int = opt(64, ge=1)
    drive_std: float = opt(0.5, ge=0.0, help="input noise moving the trajectory off the fixed "
                           "point")
    clip_norm: float = opt(1.0, gt=0.0, help="threshold shown on the exploding case")
    cells: tuple[str, ...] = opt(("rnn", "lstm", "gru"), choices=REFERENCE_CELLS)
    distance: int = opt(50, ge=1, help="tokens between subject and verb")
    examples: int = opt(24, ge=1, help="agreement sentences measured")
    hidden_size: int = opt(32, ge=1)
    embedding_dim: int = opt(16, ge=1)
    train_steps: int = opt(150, ge=0, help="updates of the brief training")
    lr: float = opt(1e-2, gt=0.0)
    timing_lengths: tuple[int, ...] = opt((25, 50, 100, 200, 400), ge=1)
    timing_repeats: int = opt(5, ge=1)
    timing_batch: int = opt(32, ge=1)
    timing_hidden: int = opt(128, ge=1)
    seed: int = opt(0, help="weights, sentences and batches")
    out: str | None = None
    overwrite: bool = False
