"""An RNN / LSTM / GRU LM's one step written for ONNX: torch's cell equations in the fewest
graph nodes.

At batch 1 an onnxruntime step is its three or four matrix-vector products (the weights
streamed from cache) plus about a microsecond per further node. The model's own steppers
(`seqlm.nn.cells`, `seqlm.nn.fast.stepper`) are shaped for torch: tanh through sigmoid
(3 nodes where ONNX has one Tanh), `chunk` (traced as Shape/Gather/Div/Slice arithmetic),
which gave a 65-node graph for a 2-layer LSTM. `CellStackStep` traces to 35 (measured,
`benchmarks/bench_onnx.py`):

    layer 0     gi = table[token]           one Gather: E x W_ih^T + b precomputed per token
    layer l     gi = x W_ih^T + b           (when the table would pass `TABLE_LIMIT`: lookup,
                                            then the product, as in layer l > 0)
    cell        Gemm(h, W_hh^T, gi); the gates by static Splits, native Sigmoid / Tanh;
                LSTM columns reordered i, f, o, g so one Sigmoid serves i, f, o
    out         logits = Gemm(h_L, W_proj^T, b); the state restacked (L, B, H)

The equations are torch.nn.RNN / LSTM / GRU's (`seqlm.nn.cells`' docstring); the products sum
in another order than the torch steppers', so logits agree to ~1e-7, not to the bit
(tests/export/test_onnx.py). Leaves out: minGRU / minLSTM (their stacks step themselves,
`seqlm.export.onnx_graphs.LMStep` traces the stepper), bidirectional stacks (an LM is
unidirectional).
"""

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from seqlm.nn.fast.stepper import TABLE_LIMIT

State = tuple[Tensor, ...]


def lstm_columns(w: Tensor, hidden: int) -> Tensor:
    """Gate columns (..., 4H) i, f, g, o -> i, f, o, g: Sigmoid on the first 3H, Tanh on g."""
    i, f, g, o = w.split(hidden, dim=-1)
    return torch.cat([i, f, o, g], dim=-1)


def recurrent(gi: Tensor, h: Tensor, w_hh_t: Tensor, b_step: Tensor | None) -> Tensor:
    """gi + h W_hh^T (+ b): one Gemm. (B, G*H)"""
    return torch.addmm(gi if b_step is None else gi + b_step, h, w_hh_t)


def rnn_tanh(gi: Tensor, state: State, w_hh_t: Tensor, b_step: Tensor | None,
             hidden: int) -> State:
    return (torch.tanh(recurrent(gi, state[0], w_hh_t, b_step)),)


def rnn_relu(gi: Tensor, state: State, w_hh_t: Tensor, b_step: Tensor | None,
             hidden: int) -> State:
    return (torch.relu(recurrent(gi, state[0], w_hh_t, b_step)),)


def lstm(gi: Tensor, state: State, w_hh_t: Tensor, b_step: Tensor | None,
         hidden: int) -> State:
    """On `lstm_columns`: c' = f c + i g, h' = o tanh(c')."""
    h, c = state
    ifo, g = recurrent(gi, h, w_hh_t, b_step).split([3 * hidden, hidden], dim=1)
    i, f, o = torch.sigmoid(ifo).split(hidden, dim=1)  # (B, H) each
    c = f * c + i * torch.tanh(g)
    return o * torch.tanh(c), c


def gru(gi: Tensor, state: State, w_hh_t: Tensor, b_step: Tensor | None,
        hidden: int) -> State:
    """r, z = σ(gi_rz + gh_rz); n = tanh(gi_n + r gh_n); h' = n + z (h - n)."""
    h = state[0]
    gh = h @ w_hh_t if b_step is None else torch.addmm(b_step, h, w_hh_t)  # (B, 3H)
    gi_rz, gi_n = gi.split([2 * hidden, hidden], dim=1)
    gh_rz, gh_n = gh.split([2 * hidden, hidden], dim=1)
    r, z = torch.sigmoid(gi_rz + gh_rz).split(hidden, dim=1)
    n = torch.tanh(gi_n + r * gh_n)
    return (n + z * (h - n),)


CELLS = {"rnn_tanh": rnn_tanh, "rnn_relu": rnn_relu, "lstm": lstm, "gru": gru}


class CellStackStep:
    """`step(tokens (B,), state) -> (logits (B, V), state)`, state ((L, B, H), ...), of a
    RecurrentLM whose stack has torch's RNN / LSTM / GRU layout (`direction_weights`); the
    call `LMStepper` offers, its weights constants of the traced graph."""

    def __init__(self, model: nn.Module):
        rnn = model.rnn
        self.cell, self.hidden_size = CELLS[rnn.kind.name], rnn.hidden_size
        self.num_layers, self.state_size = rnn.num_layers, rnn.kind.state_size
        order = (lambda w: lstm_columns(w, self.hidden_size)) if rnn.kind.name == "lstm" \
            else (lambda w: w)
        with torch.no_grad():
            self.layers = []  # (W_ih^T, W_hh^T, input bias, per-step bias): constants
            for layer in range(rnn.num_layers):
                w_ih, w_hh_t, b_in, b_step = rnn.direction_weights(f"_l{layer}")
                self.layers.append(tuple(None if w is None else order(w.detach()).contiguous()
                                         for w in (w_ih.t(), w_hh_t, b_in, b_step)))
            self.embedding = model.embedding.weight.detach()  # (V, E)
            w_ih_t, _, b_in, _ = self.layers[0]
            self.table = None  # layer 0's input projection of every token (V, G*H)
            if self.embedding.shape[0] * w_ih_t.shape[1] <= TABLE_LIMIT:
                self.table = self.embedding @ w_ih_t + (0 if b_in is None else b_in)
            self.proj_w_t = model.proj.weight.detach().t().contiguous()  # (H, V)
            self.proj_b = model.proj.bias.detach()

    def input_term(self, layer: int, tokens: Tensor, x: Tensor | None) -> Tensor:
        """gi (B, G*H) of one layer: a table lookup for layer 0 when it fits."""
        w_ih_t, _, b_in, _ = self.layers[layer]
        if layer == 0 and self.table is not None:
            return F.embedding(tokens, self.table)
        if layer == 0:
            x = F.embedding(tokens, self.embedding)  # (B, E)
        return x @ w_ih_t if b_in is None else torch.addmm(b_in, x, w_ih_t)

    def __call__(self, tokens: Tensor, state: State) -> tuple[Tensor, State]:
        x, new = None, []
        for layer, (_, w_hh_t, _, b_step) in enumerate(self.layers):
            gi = self.input_term(layer, tokens, x)
            parts = self.cell(gi, tuple(s[layer] for s in state), w_hh_t, b_step,
                              self.hidden_size)  # (B, H) each
            new.append(parts)
            x = parts[0]
        logits = torch.addmm(self.proj_b, x, self.proj_w_t)  # (B, V)
        return logits, tuple(torch.stack(p) for p in zip(*new, strict=True))  # (L, B, H)
