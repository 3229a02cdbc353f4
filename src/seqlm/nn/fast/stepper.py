"""Fast token-by-token stepping of a trained recurrent LM, for generation at batch 1.

At batch 1 a step's arithmetic is tiny (a few (1, E) x (E, 4H) products) and the cost is the
number of operations launched. torch.nn.LSTM called one step at a time pays for setting up its
sequence kernel on every call. An `LMStepper` (what `RecurrentLM.stepper()` returns) prepares,
once, each layer's transposed weights and folded bias, and does per step only: one lookup that
gives layer 0's input projection (precomputed for every token when the vocabulary is small),
per further layer one input matmul, the cell step, and the projection. Its state is the
model's own: a tuple `(h_n,)` or `(h_n, c_n)` of (L, B, H) tensors.
LSTM weights are reordered so that one sigmoid serves all four gates (tanh x = 2 sig(2x) - 1).
Weights are detached: use it under `torch.inference_mode()`; a stepper is built per
generation call and holds no state between calls. Leaves out: bidirectional models (an LM
is unidirectional), batched speculative decoding. minGRU / minLSTM stacks step themselves
(`MinRecurrent.step`: two elementwise ops per layer after the input matmul).
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlm.nn.cells import State
from seqlm.nn.fast.activations import tanh
from seqlm.nn.lm import LMState, RecurrentLM
from seqlm.nn.min_rnn import MinRecurrent

TABLE_LIMIT = 1 << 22  # entries: precompute layer 0's input projection per token up to 16 MB


def lstm_gate_order(w_t: Tensor) -> Tensor:
    """Columns i, f, g, o -> i, f, o, 2g: one sigmoid then serves all four gates, since
    tanh(x) = 2 sigmoid(2x) - 1. w_t (..., 4H)."""
    i, f, g, o = w_t.chunk(4, dim=-1)
    return torch.cat([i, f, o, 2 * g], dim=-1)


def lstm_step_sigmoid(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None) -> State:
    """The LSTM step on reordered weights (`lstm_gate_order`) in eight operations."""
    h, c = state
    s = torch.addmm(gi, h, w_hh_t).sigmoid_()  # (B, 4H): i, f, o, sigmoid(2 g_pre)
    i, f, o, s_g = s.chunk(4, dim=1)
    c = torch.addcmul(f * c, i, s_g, value=2).sub_(i)  # f*c + i*(2 s_g - 1) = f*c + i*g
    return o * tanh(c), c


class LMStepper:
    """`stepper(idx (B,), states | None) -> (logits (B, V), states)`; states per layer."""

    def __init__(self, model: RecurrentLM):
        rnn = model.rnn
        self.hidden_size, self.num_layers = rnn.hidden_size, rnn.num_layers
        self.embedding = model.embedding.weight.detach()  # (V, E)
        self.proj_w_t = model.proj.weight.detach().t().contiguous()  # (H, V)
        self.proj_b = model.proj.bias.detach()
        # a stack that steps itself (minGRU, minLSTM: no recurrent matmul to prepare)
        self.stack = rnn if isinstance(rnn, MinRecurrent) else None
        self.state_size = 1 if self.stack is not None else rnn.kind.state_size
        if self.stack is None:
            self._prepare_cells(rnn)

    def _prepare_cells(self, rnn) -> None:
        """Transposed, reordered weights and folded biases of an RNN / LSTM / GRU stack."""
        self.kind = rnn.kind
        lstm = self.kind.name == "lstm"
        self.step = lstm_step_sigmoid if lstm else self.kind.step
        order = lstm_gate_order if lstm else (lambda w: w)
        self.layers = []
        for layer in range(rnn.num_layers):
            w_ih, w_hh_t, b_in, b_step = rnn.direction_weights(f"_l{layer}")
            self.layers.append((
                order(w_ih.detach().t()).contiguous(),  # (E_l, G*H)
                order(w_hh_t.detach()).contiguous(),  # (H, G*H)
                None if b_in is None else order(b_in.detach()),
                None if b_step is None else b_step.detach(),
            ))
        w_ih_t, _, b_in, _ = self.layers[0]
        self.table = None  # layer 0's input projection of every token: (V, G*H)
        if self.embedding.shape[0] * w_ih_t.shape[1] <= TABLE_LIMIT:
            self.table = self.embedding @ w_ih_t + (0 if b_in is None else b_in)

    def zeros(self, batch: int) -> LMState:
        zero = self.embedding.new_zeros(self.num_layers, batch, self.hidden_size)
        return (zero,) * self.state_size

    def __call__(self, idx: Tensor, state: LMState | None) -> tuple[Tensor, LMState]:
        """idx (B,), state | None -> logits (B, V), state."""
        if self.stack is not None:
            x = F.embedding(idx, self.embedding)  # (B, E)
            h, h_n = self.stack.step(x, None if state is None else state[0])
            return torch.addmm(self.proj_b, h, self.proj_w_t), (h_n,)
        if state is None:
            state = self.zeros(idx.shape[0])
        x = None if self.table is not None else F.embedding(idx, self.embedding)  # (B, E)
        new = []
        for layer, (w_ih_t, w_hh_t, b_in, b_step) in enumerate(self.layers):
            if layer == 0 and self.table is not None:
                gi = F.embedding(idx, self.table)  # (B, G*H): a lookup, no matmul
            else:
                gi = x @ w_ih_t if b_in is None else torch.addmm(b_in, x, w_ih_t)
            layer_state = self.step(gi, tuple(part[layer] for part in state), w_hh_t, b_step)
            new.append(layer_state)
            x = layer_state[0]  # (B, H)
        stacked = tuple(torch.stack(part) for part in zip(*new, strict=True))  # (L, B, H) each
        return torch.addmm(self.proj_b, x, self.proj_w_t), stacked  # (B, V)
