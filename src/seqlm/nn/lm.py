"""The recurrent language model: embedding -> recurrent layers -> dropout -> projection.

    idx (B, T) -> embedding (B, T, E) -> dropout -> RNN | LSTM | GRU | minGRU | minLSTM
        (B, T, H) -> dropout -> linear (B, T, V) = logits;  loss = mean cross-entropy in nats

One interface for every LM in seqlm: `forward(idx, targets=None, state=None) -> (logits, loss,
state)`; `state` is always a tuple, `(h_n,)` or `(h_n, c_n)` with each (L, B, H), carried
between TBPTT windows and between generation steps. Weight tying shares the embedding matrix
with the projection (Press & Wolf 2017; Inan et al. 2017). `stepper()` is the model's own fast
batch-1 path for generation, so decoding never reaches into the layers.

Layer 0's input projection as a table: with no dropout on the embedding in force (dropout 0,
or eval mode) and a vocabulary small against the batch's B*T tokens (`worth_a_table`), the
fused layers read layer 0's projection of each token from table = E W_ih^T + b (V, G), made
once per forward, instead of multiplying every (B*T) embedding row (`seqlm.nn.fast.table`):
the same numbers to rounding, the same weights; autograd carries the gradients through the
table to the embedding, W_ih and the biases.
Leaves out: adaptive softmax, mixture of softmaxes, AWD-LSTM's weight drop.
"""

import warnings

import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.config import LMConfig
from seqlm.config.lm import TORCH_BACKEND_CELLS
from seqlm.nn.fast.backend import torch_layer
from seqlm.nn.fast.kernels import resolve
from seqlm.nn.fast.table import worth_a_table
from seqlm.nn.min_rnn import MinGRU, MinLSTM
from seqlm.nn.newton import Newton, NewtonGRU, NewtonLSTM
from seqlm.nn.recurrent import GRU, LSTM, RNN, locked_dropout

LMState = tuple[Tensor, ...]  # (h_n,) or (h_n, c_n), each (L, B, H): always a tuple


def build_recurrent(config: LMConfig) -> nn.Module:
    """The recurrent stack named by `config.cell` (the registry of cell names), on
    `config.backend` (torch: `seqlm.nn.fast.backend`) with `config.kernels` resolved
    (`seqlm.nn.fast.kernels.resolve`: auto without a compiler warns once and runs eager)."""
    between = config.dropout if config.num_layers > 1 else 0.0
    args = (config.embedding_dim, config.hidden_size, config.num_layers)
    if config.backend == "torch" and config.cell in TORCH_BACKEND_CELLS:
        return torch_layer(config.cell, *args, between, config.forget_bias)
    kernels = "eager"
    if config.cell in ("rnn", "rnn_relu", "lstm", "gru"):
        kernels, note = resolve(config.kernels)
        if note:
            warnings.warn(note, stacklevel=2)
    fast = dict(dropout=between, batch_first=True, kernels=kernels,
                weight_drop=config.weight_drop)
    minimal = dict(residual=config.residual, layer_norm=config.layer_norm, scan=config.scan,
                   chunk_size=config.scan_chunk)
    gru, lstm, newton = GRU, LSTM, {}
    if config.recurrence == "newton":  # the same layers and weights, solved by Newton
        gru, lstm = NewtonGRU, NewtonLSTM
        newton = {"newton": Newton(config.newton_iterations, config.newton_tolerance,
                                   config.newton_jacobian, config.newton_solver,
                                   config.newton_unconverged)}
    builders = {
        "rnn": lambda: RNN(*args, nonlinearity="tanh", **fast),
        "rnn_relu": lambda: RNN(*args, nonlinearity="relu", **fast),
        "lstm": lambda: lstm(*args, forget_bias=config.forget_bias, **fast, **newton),
        "gru": lambda: gru(*args, **fast, **newton),
        "mingru": lambda: MinGRU(*args, dropout=between, **minimal),
        "minlstm": lambda: MinLSTM(*args, dropout=between, **minimal),
    }
    if config.cell not in builders:
        raise ValueError(f"unknown cell {config.cell!r}; known: {', '.join(builders)}")
    return builders[config.cell]()


class RecurrentLM(nn.Module):
    """`forward(idx (B, T), targets (B, T) | None, state | None) -> (logits (B, T, V),
    loss | None, state)`."""

    def __init__(self, vocab_size: int, config: LMConfig):
        super().__init__()
        self.config = config
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim)
        self.rnn = build_recurrent(config)
        self.proj = nn.Linear(config.hidden_size, vocab_size)
        if config.tie_weights:  # LMConfig has checked embedding_dim == hidden_size
            self.proj.weight = self.embedding.weight
        self._drop = (lambda x: locked_dropout(x, config.dropout, self.training)) \
            if config.locked_dropout else nn.Dropout(config.dropout)
        # seqlm's own stepped layers can read layer 0's projections from a table (Newton's
        # solve and torch's layers take the embedded inputs)
        self._tables = isinstance(self.rnn, RNN | LSTM | GRU) \
            and not isinstance(self.rnn, NewtonGRU | NewtonLSTM)

    def uses_table(self, idx: Tensor) -> bool:
        """Whether `forward(idx)` reads layer 0's input projections from a (V, G) table
        (`seqlm.nn.fast.table`): the layers can, no dropout on the embedding is in force,
        and V is small against the B*T tokens of idx (`worth_a_table`). On the CPU only: it
        was measured there, and the GPU's captured loops have not run it yet."""
        dropped = self.training and self.config.dropout > 0
        return self._tables and not dropped and idx.device.type == "cpu" \
            and self.rnn.reads_tables() \
            and worth_a_table(self.vocab_size, idx.numel(), self.config.embedding_dim)

    def forward(self, idx: Tensor, targets: Tensor | None = None,
                state: LMState | None = None) -> tuple[Tensor, Tensor | None, LMState]:
        if self.uses_table(idx):  # embedding and layer 0's projection as one (V, G) table
            out, state = self.rnn.forward_ids(self.embedding.weight, idx, state)
        else:
            x = self._drop(self.embedding(idx))  # (B, T, E)
            out, state = self.rnn.forward_state(x, state)  # (B, T, H), ((L, B, H), ...)
        logits = self.proj(self._drop(out))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.vocab_size).float(),
                                   targets.reshape(-1))
        return logits, loss, state

    def stepper(self):
        """The model's fast batch-1 step, `stepper(idx (B,), state) -> (logits (B, V),
        state)`, with its weights prepared once (`seqlm.nn.fast.stepper`); build one per
        generation, under `torch.inference_mode()`."""
        from seqlm.nn.fast.stepper import LMStepper  # here: torch's step kernels load on use

        return LMStepper(self)

    def step(self, idx: Tensor, state: LMState | None = None) -> tuple[Tensor, LMState]:
        """One generation step, idx (B,) -> (logits (B, V), state): `stepper()` once."""
        return self.stepper()(idx, state)


def detach_state(state: LMState | None) -> LMState | None:
    """detach: keep the values, cut the graph (truncated BPTT between windows)."""
    return None if state is None else tuple(s.detach() for s in state)


def take_rows(state: LMState, rows: Tensor) -> LMState:
    """The state of batch rows `rows` (B',), along B of (L, B, H): beam search follows its
    survivors with it."""
    return tuple(s.index_select(1, rows) for s in state)


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, a tied matrix counted once."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()
               if p.requires_grad)
