"""The recurrent language model: embedding -> recurrent layers -> dropout -> projection.

    idx (B, T) -> embedding (B, T, E) -> dropout -> RNN | LSTM | GRU | minGRU | minLSTM
        (B, T, H) -> dropout -> linear (B, T, V) = logits;  loss = mean cross-entropy in nats

One interface for every LM in seqlm: `forward(idx, targets=None, state=None) -> (logits, loss,
state)`; `state` is the recurrent layer's own (h_n or (h_n, c_n)), carried between TBPTT
windows and between generation steps. Weight tying shares the embedding matrix with the
projection (Press & Wolf 2017; Inan et al. 2017). `step` is the batch-1 friendly path for
generation: one token per call through plain matmuls, no sequence bookkeeping.
Leaves out: adaptive softmax, mixture of softmaxes, AWD-LSTM's weight drop.
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.config import LMConfig
from seqlm.nn.min_rnn import MinGRU, MinLSTM, MinRecurrent
from seqlm.nn.recurrent import GRU, LSTM, RNN, locked_dropout

LMState = Tensor | tuple[Tensor, Tensor]


def build_recurrent(config: LMConfig) -> nn.Module:
    """The recurrent stack named by `config.cell`: the registry of cell names."""
    between = config.dropout if config.num_layers > 1 else 0.0
    args = (config.embedding_dim, config.hidden_size, config.num_layers)
    minimal = dict(residual=config.residual, layer_norm=config.layer_norm, scan=config.scan,
                   chunk_size=config.scan_chunk)
    builders = {
        "rnn": lambda: RNN(*args, nonlinearity="tanh", dropout=between),
        "rnn_relu": lambda: RNN(*args, nonlinearity="relu", dropout=between),
        "lstm": lambda: LSTM(*args, dropout=between, forget_bias=config.forget_bias),
        "gru": lambda: GRU(*args, dropout=between),
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
        if config.tie_weights and config.embedding_dim != config.hidden_size:
            raise ValueError("tie_weights needs embedding_dim == hidden_size, got "
                             f"{config.embedding_dim} and {config.hidden_size}")
        self.config = config
        self.vocab_size = vocab_size
        self.embedding = nn.Embedding(vocab_size, config.embedding_dim)
        self.rnn = build_recurrent(config)
        self.proj = nn.Linear(config.hidden_size, vocab_size)
        if config.tie_weights:
            self.proj.weight = self.embedding.weight
        self._drop = (lambda x: locked_dropout(x, config.dropout, self.training)) \
            if config.locked_dropout else nn.Dropout(config.dropout)

    def forward(self, idx: Tensor, targets: Tensor | None = None,
                state: LMState | None = None) -> tuple[Tensor, Tensor | None, LMState]:
        x = self._drop(self.embedding(idx))  # (B, T, E)
        out, state = self.rnn(x, state)  # (B, T, H)
        logits = self.proj(self._drop(out))  # (B, T, V)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1))
        return logits, loss, state

    def step(self, idx: Tensor, state: LMState | None = None) -> tuple[Tensor, LMState]:
        """One generation step, idx (B,) -> (logits (B, V), state); use in inference mode.

        Calls each layer's cell step directly on (B, E) rows: at batch 1 the cost is a
        handful of small matmuls, not a sequence kernel set up for one time step. A stack
        with its own `step(x (B, E), state) -> (h (B, H), state)` (minGRU, minLSTM) steps
        itself."""
        rnn = self.rnn
        x = self.embedding(idx)  # (B, E)
        if isinstance(rnn, MinRecurrent):
            h, state = rnn.step(x, state)  # (B, H), (L, B, H)
            return self.proj(h), state
        if state is None:
            zeros = x.new_zeros(rnn.num_layers, x.shape[0], rnn.hidden_size)
            state = (zeros, zeros) if rnn.kind.state_size == 2 else zeros
        parts = state if isinstance(state, tuple) else (state,)
        new_parts: list[list[Tensor]] = [[] for _ in parts]
        for layer in range(rnn.num_layers):
            w_ih, w_hh_t, b_in, b_step = rnn.direction_weights(f"_l{layer}")
            gi = F.linear(x, w_ih, b_in)  # (B, G*H)
            new = rnn.kind.step(gi, tuple(p[layer] for p in parts), w_hh_t, b_step)
            for slot, value in zip(new_parts, new, strict=True):
                slot.append(value)
            x = new[0]  # (B, H)
        logits = self.proj(x)  # (B, V)
        stacked = tuple(torch.stack(slot) for slot in new_parts)
        return logits, stacked if len(stacked) == 2 else stacked[0]


def detach_state(state: LMState | None) -> LMState | None:
    """detach: keep the values, cut the graph (truncated BPTT between windows)."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)  # type: ignore[return-value]
    return state.detach()


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters, a tied matrix counted once."""
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values()
               if p.requires_grad)
