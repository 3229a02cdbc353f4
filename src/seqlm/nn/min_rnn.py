"""minGRU and minLSTM: recurrent layers whose gates see only the input (Feng et al. 2024).

"Were RNNs All We Needed?" (Feng, Tung, Ahmed, Bengio, Hajimirsadeghi 2024) strips the GRU
and the LSTM until nothing inside the time loop is a matrix product:

    minGRU   z_t = sigma(W_z x_t)   h~_t = g(W_h x_t)        h_t = (1 - z_t) h_{t-1} + z_t h~_t
    minLSTM  f_t = sigma(W_f x_t)   i_t = sigma(W_i x_t)      h~_t = g(W_h x_t)
             f'_t, i'_t = f_t / (f_t + i_t), i_t / (f_t + i_t)   h_t = f'_t h_{t-1} + i'_t h~_t

The paper's choices kept here: the candidate goes through g (v + 1/2 for v >= 0, sigma(v)
below), the positive activation of its log-space variant, so h > 0 and log h exists (every
path uses it, so the three paths compute the same function); minLSTM's forget and input gates
are normalised to sum to one (time-independent scale, no cell state c: the state is h alone);
no output gate and no tanh on the state. Both are one gated linear recurrence
h_t = sigma(-u_t) h_{t-1} + sigma(u_t) g(v_t) (`seqlm.nn.scan`), with u = the update gate's
pre-activation (minGRU) or log i - log f = softplus(-k_f) - softplus(-k_i) (minLSTM, which
makes sigma(-u) = f' and sigma(u) = i' exactly). Every matmul runs over all T steps at once;
what is left in time is elementwise, computed by the `scan` path named at construction
(sequential | log | chunked, equal to ~1e-6 in float32; see `seqlm.nn.scan`).

Layers stack like torch.nn.GRU: `forward(x (B, T, E), h0 (L, B, H) | None) -> (output
(B, T, H), h_n (L, B, H))`, so the state carries across TBPTT windows as the GRU's does.
Options between layers: dropout (as torch), `layer_norm` (LayerNorm on the input of every
layer above the first) and `residual` (a layer's input is added to its output where the widths
match: every layer above the first, and the first if E == H). Parameters follow torch's names:
`weight_ih_l{k}` (G*H, in) with G = 2 (z, h) or 3 (f, i, h), `bias_ih_l{k}`, and
`norm_weight_l{k}`, `norm_bias_l{k}`. `step(x (B, E), state) -> (output (B, H), state)`
advances one token (generation), with dropout off.
What is lost against the GRU and LSTM: the state update is linear (no tanh, no W_hh: the
state's past can only fade, never be transformed), and the gates cannot see the past state.
Leaves out: the paper's expansion factor and output projection, the Conv1d and MLP of its
language-model blocks, bidirectional layers, padding lengths.
"""

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.nn.cells import init_uniform_
from seqlm.nn.scan import coefficients, scan_path


def mingru_gates(proj: Tensor) -> tuple[Tensor, Tensor]:
    """(u, v) from the projection [k_z, k_h] (..., 2H): u = k_z, v = k_h."""
    k_z, k_h = proj.chunk(2, dim=-1)
    return k_z, k_h


def minlstm_gates(proj: Tensor) -> tuple[Tensor, Tensor]:
    """(u, v) from [k_f, k_i, k_h] (..., 3H): u = log i - log f, so sigma(u) = i / (f + i)."""
    k_f, k_i, k_h = proj.chunk(3, dim=-1)
    return F.softplus(-k_f) - F.softplus(-k_i), k_h


@dataclass(frozen=True)
class MinKind:
    """What differs between minGRU and minLSTM; chosen once, at construction."""

    name: str
    gates: int  # G: weight_ih_l{k} has G*H rows
    split: Callable[[Tensor], tuple[Tensor, Tensor]]  # projection -> (u, v)


MIN_KINDS = {"mingru": MinKind("mingru", 2, mingru_gates),
             "minlstm": MinKind("minlstm", 3, minlstm_gates)}


class MinRecurrent(nn.Module):
    """The shared stack; subclasses pick the kind."""

    kind: MinKind

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, dropout: float = 0.0, residual: bool = False,
                 layer_norm: bool = False, scan: str = "sequential", chunk_size: int = 64):
        super().__init__()
        if num_layers < 1 or hidden_size < 1 or chunk_size < 1:
            raise ValueError("num_layers, hidden_size and chunk_size must be at least 1")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.dropout, self.residual = bias, dropout, residual
        self.layer_norm, self.scan, self.chunk_size = layer_norm, scan, chunk_size
        self.scan_fn = scan_path(scan)
        rows = self.kind.gates * hidden_size
        for layer in range(num_layers):
            width = input_size if layer == 0 else hidden_size
            self.register_parameter(f"weight_ih_l{layer}", nn.Parameter(torch.empty(rows, width)))
            if bias:
                self.register_parameter(f"bias_ih_l{layer}", nn.Parameter(torch.empty(rows)))
            if layer_norm and layer > 0:
                self.register_parameter(f"norm_weight_l{layer}",
                                        nn.Parameter(torch.ones(hidden_size)))
                self.register_parameter(f"norm_bias_l{layer}",
                                        nn.Parameter(torch.zeros(hidden_size)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """torch's recurrent init U(-1/sqrt(H), 1/sqrt(H)); the norms start as identity."""
        init_uniform_([p for n, p in self.named_parameters() if not n.startswith("norm")],
                      self.hidden_size)
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.startswith("norm"):
                    p.fill_(1.0 if "weight" in name else 0.0)

    def _gates(self, x: Tensor, layer: int) -> tuple[Tensor, Tensor]:
        """The layer's (u, v), each (..., H), from its input x (..., in): norm, one matmul."""
        if self.layer_norm and layer > 0:
            x = F.layer_norm(x, (self.hidden_size,), getattr(self, f"norm_weight_l{layer}"),
                             getattr(self, f"norm_bias_l{layer}"))
        proj = F.linear(x, getattr(self, f"weight_ih_l{layer}"),
                        getattr(self, f"bias_ih_l{layer}", None))  # (..., G*H)
        return self.kind.split(proj)

    def _output(self, h: Tensor, x: Tensor, layer: int) -> Tensor:
        """The layer's output: h, plus its input where `residual` and the widths match."""
        return h + x if self.residual and x.shape[-1] == h.shape[-1] else h

    def _initial_state(self, state: Tensor | None, x: Tensor) -> Tensor | None:
        shape = (self.num_layers, x.shape[0], self.hidden_size)
        if state is not None and tuple(state.shape) != shape:
            raise ValueError(f"initial state has shape {tuple(state.shape)}, expected {shape}")
        return state

    def forward(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """x (B, T, E), state (L, B, H) | None -> (output (B, T, H), h_n (L, B, H))."""
        if x.dim() != 3:
            raise ValueError(f"expected a 3-D input (B, T, E), got shape {tuple(x.shape)}")
        state = self._initial_state(state, x)
        finals = []
        for layer in range(self.num_layers):
            u, v = self._gates(x, layer)  # (B, T, H) each: every step's gates in one matmul
            h0 = None if state is None else state[layer]
            h = self.scan_fn(u, v, h0, self.chunk_size)  # (B, T, H)
            finals.append(h[:, -1])
            x = self._output(h, x, layer)
            if layer < self.num_layers - 1 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        return x, torch.stack(finals)  # (B, T, H), (L, B, H)

    def forward_state(self, x: Tensor, state: tuple[Tensor, ...] | None,
                      ) -> tuple[Tensor, tuple[Tensor, ...]]:
        """The language model's call: the state as a one-tuple `(h_n,)`, like the GRU's."""
        out, h_n = self.forward(x, None if state is None else state[0])
        return out, (h_n,)

    def step(self, x: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """One time step without dropout: x (B, E), state (L, B, H) | None ->
        (output (B, H), state (L, B, H)). Equals `forward` on a length-1 sequence."""
        new = []
        for layer in range(self.num_layers):
            a, b = coefficients(*self._gates(x, layer))  # (B, H) each
            h = b if state is None else torch.addcmul(b, a, state[layer])
            new.append(h)
            x = self._output(h, x, layer)
        return x, torch.stack(new)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"scan={self.scan}, residual={self.residual}, layer_norm={self.layer_norm}")


class MinGRU(MinRecurrent):
    """minGRU stack: z = sigma(W_z x), h = (1 - z) h + z g(W_h x). `forward(x (B, T, E),
    h0 (L, B, H) | None) -> (output (B, T, H), h_n (L, B, H))`."""

    kind = MIN_KINDS["mingru"]


class MinLSTM(MinRecurrent):
    """minLSTM stack: normalised forget/input gates, h = f' h + i' g(W_h x); state h only.
    The same call as `MinGRU`."""

    kind = MIN_KINDS["minlstm"]
