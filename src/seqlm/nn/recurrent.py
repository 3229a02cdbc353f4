"""Recurrent layers over the cells: stacked, bidirectional, padding-aware; torch's call layout.

`RNN`, `LSTM` and `GRU` mirror torch.nn.RNN / LSTM / GRU: the same constructor arguments
(`batch_first=False` by default, as torch), parameters named `weight_ih_l{k}[_reverse]` etc. so that
`load_state_dict(torch_module.state_dict())` works both ways, and the same return layout
`output (B, T, D*H), h_n (L*D, B, H)` (LSTM: `output, (h_n, c_n)`).

The fast path, per layer and direction:

    gi = x @ W_ih^T + b_ih (+ b_hh)     one matmul for all T steps: (B, T, G*H)
    for gi_t in gi.unbind(1):          unbind, not x[:, t]: slicing makes backward O(T^2)
        state = step(gi_t, state)      one recurrent matmul per step
    output = stack(h_t, dim=1)

`lengths` (B,) makes a batch of right-padded rows behave like each row run alone: at t >=
lengths[b] row b's state is held (masked update) and its output is zero, h_n is the state after
its last real token, and the reverse direction starts at each row's own last real token.

`forward_ids(embedding, ids, state)` is `forward_state(embedding[ids], state)` for an LM's
stack: layer 0 gathers its input projections by token id from a (V, G*H) table made once per
call (`seqlm.nn.fast.table`) instead of projecting every embedded row.

`kernels` ("eager" or "compiled", resolved by the caller from `--kernels`, see
`seqlm.nn.fast.kernels`) picks the fused paths' step loops: torch ops, or one compiled C++
kernel per step; the same numbers to rounding.

Dropout: `dropout` between layers as in torch; optionally locked (variational) dropout on the
layer's input and output with one mask per sequence shared over time (Gal & Ghahramani 2016);
`weight_drop`: DropConnect on the recurrent weights W_hh, one mask per forward call shared by
every step (the weight-dropped LSTM of Merity, Keskar & Socher 2017, "Regularizing and
Optimizing LSTM Language Models"): it regularises the recurrence itself and costs one masked
copy of W_hh per call, so the fused and compiled step loops run unchanged.

Leaves out: `proj_size`, unbatched (2-D) inputs, packed sequences (use `lengths`).
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.nn.cells import CellKind, State, cell_kind, init_uniform_, set_forget_bias_
from seqlm.nn.fast import KERNEL_SEQUENCES
from seqlm.nn.fast.matmul import autocast_products, cast


def time_mask(lengths: Tensor, steps: int) -> Tensor:
    """(B, T, 1) bool, True where t < lengths[b]."""
    positions = torch.arange(steps, device=lengths.device)
    return (positions[None, :] < lengths[:, None])[:, :, None]


def reverse_padded(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Reverse each row's first lengths[b] steps, leaving its padding in place: (B, T, F).

    Row [a b c _ _] with length 3 becomes [c b a _ _]; applied twice it is the identity."""
    if lengths is None:
        return x.flip(1)
    steps = x.shape[1]
    positions = torch.arange(steps, device=x.device)[None, :]  # (1, T)
    mirrored = lengths.to(x.device)[:, None] - 1 - positions  # (B, T)
    index = torch.where(mirrored >= 0, mirrored, positions)
    return x.gather(1, index[:, :, None].expand_as(x))


def locked_dropout(x: Tensor, p: float, training: bool) -> Tensor:
    """Dropout with one mask per sequence, shared by all time steps: x (B, T, F)."""
    if not training or p == 0.0:
        return x
    mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - p) / (1 - p)  # (B, 1, F)
    return x * mask


class _Recurrent(nn.Module):
    """The shared layer; subclasses pick the cell kind and the state layout."""

    def __init__(self, kind: CellKind, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, dropout_in: float = 0.0,
                 dropout_out: float = 0.0, fused: bool = True, kernels: str = "eager",
                 weight_drop: float = 0.0):
        super().__init__()
        if num_layers < 1 or hidden_size < 1:
            raise ValueError("num_layers and hidden_size must be at least 1")
        for name, p in (("dropout", dropout), ("dropout_in", dropout_in),
                        ("dropout_out", dropout_out), ("weight_drop", weight_drop)):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {p}")
        self.kind = kind
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.bidirectional = bias, batch_first, bidirectional
        self.dropout, self.dropout_in, self.dropout_out = dropout, dropout_in, dropout_out
        self.weight_drop = weight_drop
        self.num_directions = 2 if bidirectional else 1
        self.fused = fused  # use the kind's whole-sequence path where it has one
        # the fused paths' elementwise work: eager torch ops or compiled kernels (resolved)
        self.kernels, self.sequences = kernels, KERNEL_SEQUENCES[kernels]
        rows = kind.gates * hidden_size
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                self.register_parameter(f"weight_ih{suffix}",
                                        nn.Parameter(torch.empty(rows, layer_input)))
                self.register_parameter(f"weight_hh{suffix}",
                                        nn.Parameter(torch.empty(rows, hidden_size)))
                if bias:
                    self.register_parameter(f"bias_ih{suffix}", nn.Parameter(torch.empty(rows)))
                    self.register_parameter(f"bias_hh{suffix}", nn.Parameter(torch.empty(rows)))
        self.reset_parameters()

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def reset_parameters(self) -> None:
        init_uniform_(list(self.parameters()), self.hidden_size)

    def direction_weights(self, suffix: str
                          ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        """(W_ih, W_hh^T, input bias, per-step bias) for one layer and direction; while
        training with `weight_drop`, W_hh with a fresh DropConnect mask (one per call: the
        same dropped connections at every step of the sequence)."""
        w_ih, w_hh_t, b_in, b_step = direction_weights(self, suffix)
        if self.training and self.weight_drop > 0:
            w_hh_t = F.dropout(w_hh_t, self.weight_drop)
        return w_ih, w_hh_t, b_in, b_step

    def _initial_state(self, state: Tensor | tuple | None, batch: int, like: Tensor) -> State:
        """The caller's state as a tuple of (L*D, B, H) tensors, zeros (like's) if None."""
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if state is None:
            return (like.new_zeros(shape),) * self.kind.state_size
        # torch's call gives h0 or (h0, c0); the models' call always a tuple
        parts = tuple(state) if isinstance(state, tuple | list) else (state,)
        for part in parts:
            if tuple(part.shape) != shape:
                raise ValueError(f"initial state has shape {tuple(part.shape)}, "
                                 f"expected {shape}")
        return parts

    def _direction(self, x: Tensor, suffix: str, reverse: bool, state: State,
                   lengths: Tensor | None, mask: Tensor | None,
                   products: torch.dtype | None = None) -> tuple[Tensor, State]:
        """Run one direction of one layer: x (B, T, E_l) -> (output (B, T, H), final state).
        `products`: the fused path's matmul dtype (bf16 under the CPU's bf16 autocast)."""
        w_ih, w_hh_t, b_in, b_step = self.direction_weights(suffix)
        if reverse:
            x = reverse_padded(x, lengths)
        sequence = self.sequences.get(self.kind.name) if self.fused else None
        if mask is None and sequence is not None:
            # time-major inside: transposing views here, never the (T, B, G*H) projections;
            # a stack of fused layers hands each other contiguous (T, B, H) outputs
            output, state = sequence(x.transpose(0, 1), w_ih, b_in, b_step, state, w_hh_t.t(),
                                     products)
            output = output.transpose(0, 1)  # (B, T, H), a view
            return (reverse_padded(output, lengths) if reverse else output), state
        gi = F.linear(x, w_ih, b_in)  # (B, T, G*H): every step's input projection at once
        step = self.kind.step
        outputs = []
        if mask is None:
            for gi_t in gi.unbind(1):
                state = step(gi_t, state, w_hh_t, b_step)
                outputs.append(state[0])
        else:
            for gi_t, m_t in zip(gi.unbind(1), mask.unbind(1), strict=True):  # m_t (B, 1)
                new = step(gi_t, state, w_hh_t, b_step)
                # masked update: padded rows keep their state, and their output is zero
                state = tuple(torch.where(m_t, n, s) for n, s in zip(new, state, strict=True))
                outputs.append(new[0] * m_t)
        output = torch.stack(outputs, dim=1)  # (B, T, H)
        if reverse:
            output = reverse_padded(output, lengths)
        return output, state

    def _table_direction(self, embedding: Tensor, ids: Tensor, state: State,
                         products: torch.dtype | None) -> tuple[Tensor, State]:
        """Layer 0 (one direction) on x = embedding[ids] without forming x: its input
        projections gathered from table = embedding W_ih^T + b (`seqlm.nn.fast.table`):
        embedding (V, E), ids (B, T) -> (output (B, T, H), final state)."""
        w_ih, w_hh_t, b_in, b_step = self.direction_weights("_l0")
        # (V, G) with the products' operands and rounding (bf16: as the dense product's),
        # carried in x's dtype; autograd takes dL/dtable on to the embedding, W_ih and b
        low = (None if t is None else cast(t, products) for t in (embedding, w_ih, b_in))
        table = F.linear(*low).to(embedding.dtype)
        sequence = self.sequences[self.kind.name]
        output, state = sequence(table, None, None, b_step, state, w_hh_t.t(), products,
                                 ids=ids.t())
        return output.transpose(0, 1), state  # (B, T, H), a view

    def reads_tables(self) -> bool:
        """`forward_ids` can run: one direction, a whole-sequence path for the cell kind, and
        no dropout on the layer's input in force."""
        return self.fused and self.num_directions == 1 and self.kind.name in self.sequences \
            and not (self.training and self.dropout_in > 0)

    def forward_ids(self, embedding: Tensor, ids: Tensor, state: State | None
                    ) -> tuple[Tensor, State]:
        """`forward_state(embedding[ids], state)` with layer 0's input projections read from
        a (V, G) table (`seqlm.nn.fast.table`; needs `reads_tables()`): embedding (V, E),
        ids (B, T) batch-first (the layer's own layout otherwise) -> as `forward_state`."""
        if not self.reads_tables():
            raise ValueError("forward_ids needs one direction, a fused cell and no input "
                             "dropout; call forward_state(embedding[ids], state)")
        return self._run(embedding, state, None, ids=ids)

    def _run(self, x: Tensor, state: Tensor | tuple | None, lengths: Tensor | None,
             products: torch.dtype | None = None, ids: Tensor | None = None
             ) -> tuple[Tensor, State]:
        """x (B, T, E) -> (output (B, T, D*H), final state tuple of (L*D, B, H)); with ids
        (B, T), x is the embedding (V, E) that layer 0 reads rows of (`_table_direction`).

        Under mixed precision the recurrence itself runs in float32 (autocast off): the
        state carried over hundreds of steps, and the gate pre-activations that feed it,
        keep full precision; the model's other matmuls (the projection) use the autocast
        dtype. Under the CPU's bf16 autocast the fused paths also take bf16 operands for
        their matrix products (fp32 accumulation and results; `seqlm.nn.fast.matmul`)."""
        if ids is None and x.dim() != 3:
            raise ValueError(f"expected a 3-D input (B, T, E) or (T, B, E), got shape "
                             f"{tuple(x.shape)}")
        if x.shape[-1] != self.input_size:  # E, of the inputs or of the embedding
            raise ValueError(f"{type(self).__name__} was built for inputs of width "
                             f"{self.input_size}, got {x.shape[-1]} (input shape "
                             f"{tuple(x.shape)}): check the embedding size or input_size")
        if torch.is_autocast_enabled(x.device.type):
            products = autocast_products(x.device)  # read before autocast is switched off
            with torch.autocast(device_type=x.device.type, enabled=False):
                full = None if state is None else (
                    tuple(s.float() for s in state) if isinstance(state, tuple)
                    else state.float())
                return self._run(x.float(), full, lengths, products, ids)
        if not self.batch_first:  # ids: batch-first from here, as x
            x, ids = (x.transpose(0, 1), None) if ids is None else (x, ids.t())
        initial = self._initial_state(state, (x if ids is None else ids).shape[0], x)
        mask = None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
            mask = time_mask(lengths, x.shape[1])  # (B, T, 1)
        x = locked_dropout(x, self.dropout_in, self.training)
        finals: list[State] = []
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                index = layer * self.num_directions + d
                start = tuple(part[index] for part in initial)
                if ids is not None and layer == 0:
                    out, final = self._table_direction(x, ids, start, products)
                else:
                    out, final = self._direction(x, suffix, d == 1, start, lengths, mask,
                                                 products)
                outputs.append(out)
                finals.append(final)
            x = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=2)  # (B, T, D*H)
            if layer < self.num_layers - 1 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        x = locked_dropout(x, self.dropout_out, self.training)
        if not self.batch_first:
            x = x.transpose(0, 1)
        stacked = tuple(torch.stack([f[i] for f in finals]) for i in range(self.kind.state_size))
        return x, stacked

    def forward_state(self, x: Tensor, state: State | None, lengths: Tensor | None = None,
                      ) -> tuple[Tensor, State]:
        """The models' call: the state always a tuple, `(h_n,)` or `(h_n, c_n)`, each
        (L*D, B, H), where `forward` mirrors torch's h_n or (h_n, c_n)."""
        return self._run(x, state, lengths)

    def extra_repr(self) -> str:
        drop = f", weight_drop={self.weight_drop}" if self.weight_drop else ""
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"bidirectional={self.bidirectional}, dropout={self.dropout}{drop}")


class RNN(_Recurrent):
    """Elman RNN layer. `forward(x (B, T, E), h0 (L*D, B, H) | None, lengths (B,) | None)
    -> (output (B, T, D*H), h_n (L*D, B, H))`."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 nonlinearity: str = "tanh", bias: bool = True, batch_first: bool = False,
                 dropout: float = 0.0, bidirectional: bool = False, **locked: float):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(cell_kind(f"rnn_{nonlinearity}"), input_size, hidden_size, num_layers,
                         bias, batch_first, dropout, bidirectional, **locked)

    def forward(self, x: Tensor, state: Tensor | None = None,
                lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(x, state, lengths)
        return output, h_n


class GRU(_Recurrent):
    """GRU layer; the same call as `RNN`."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 **locked: float):
        super().__init__(cell_kind("gru"), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, **locked)

    def forward(self, x: Tensor, state: Tensor | None = None,
                lengths: Tensor | None = None) -> tuple[Tensor, Tensor]:
        output, (h_n,) = self._run(x, state, lengths)
        return output, h_n


class LSTM(_Recurrent):
    """LSTM layer. `forward(x (B, T, E), (h0, c0) | None, lengths | None)
    -> (output (B, T, D*H), (h_n, c_n) each (L*D, B, H))`. `forget_bias`, if given, sets the
    forget gates' total bias after torch's init."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 forget_bias: float | None = None, **locked: float):
        self.forget_bias = forget_bias
        super().__init__(cell_kind("lstm"), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, **locked)

    def reset_parameters(self) -> None:
        super().reset_parameters()
        if self.forget_bias is None or not self.bias:
            return
        for layer in range(self.num_layers):
            for suffix in self._suffixes(layer):
                set_forget_bias_(getattr(self, f"bias_ih{suffix}"),
                                 getattr(self, f"bias_hh{suffix}"), self.forget_bias)

    def forward(self, x: Tensor, state: tuple[Tensor, Tensor] | None = None,
                lengths: Tensor | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        output, (h_n, c_n) = self._run(x, state, lengths)
        return output, (h_n, c_n)


RECURRENT_LAYERS: dict[str, type[_Recurrent]] = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def direction_weights(layer: nn.Module, suffix: str
                      ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
    """(W_ih, W_hh^T, input bias, per-step bias) of one layer and direction of a layer in
    torch's parameter layout (`weight_ih_l0`, ...): the GRU keeps b_hh apart (it sits inside
    r * (W_hn h + b_hn)), the other cells fold it into the input bias."""
    w_ih, w_hh = getattr(layer, f"weight_ih{suffix}"), getattr(layer, f"weight_hh{suffix}")
    if not layer.bias:
        return w_ih, w_hh.t(), None, None
    b_ih, b_hh = getattr(layer, f"bias_ih{suffix}"), getattr(layer, f"bias_hh{suffix}")
    if layer.kind.folds_hh_bias:
        return w_ih, w_hh.t(), b_ih + b_hh, None
    return w_ih, w_hh.t(), b_ih, b_hh
