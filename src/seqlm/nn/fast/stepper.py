"""Fast token-by-token stepping of a trained recurrent LM, for generation at batch 1.

At batch 1 a step's arithmetic is tiny (a few (1, E) x (E, 4H) products) and the cost is the
number of operations launched. torch.nn.LSTM called one step at a time pays for setting up its
sequence kernel on every call. An `LMStepper` (what `RecurrentLM.stepper()` returns) prepares,
once, each layer's transposed weights and folded bias, and does per step only: one lookup that
gives layer 0's input projection (precomputed for every token when the vocabulary is small),
per further layer one input matmul, the cell step, and the projection. Its state is the
model's own: a tuple `(h_n,)` or `(h_n, c_n)` of (L, B, H) tensors.
Weights are prepared per cell kind (`STEPPERS`) so that tanh comes through the sigmoid that
the gates need anyway (tanh x = 2 sig(2x) - 1): LSTM gates reordered so one sigmoid serves
all four, GRU's n columns and the tanh RNN's weights doubled; GRU's b_hr, b_hz folded.
With `--kernels compiled` each cell's elementwise work is one call of the compiled kernels
(`COMPILED_STEPPERS`, weights in their convention), and at batch 1 (sampling) the whole
step, every layer and the projection, is one operator call (`StackStep`, `stack_step.cpp`:
its own vector-matrix products on weights packed once, measured faster than MKL's at these
shapes; docs/nnlm.md). Weights are detached: use it under
`torch.inference_mode()`; a stepper is built per
generation call and holds no state between calls. Leaves out: bidirectional models (an LM
is unidirectional), batched speculative decoding. minGRU / minLSTM stacks step themselves
(`MinRecurrent.step`: two elementwise ops per layer after the input matmul).
"""

import torch
import torch.nn.functional as F
from torch import Tensor

from seqlm.nn.cells import State
from seqlm.nn.fast.kernels import load
from seqlm.nn.min_rnn import MinRecurrent

TABLE_LIMIT = 1 << 22  # entries: precompute layer 0's input projection per token up to 16 MB
Weights = tuple[Tensor, Tensor, Tensor | None, Tensor | None]  # W_ih^T, W_hh^T, b_in, b_step


LMState = State  # (h_n,) or (h_n, c_n), each (L, B, H): `seqlm.nn.lm`'s state
Constants = tuple[Tensor, Tensor]  # 0-dim 2 and -1 on the model's device, made once


def constants(like: Tensor) -> Constants:
    """0-dim 2 and -1: a Python number costs a tensor per call (measured: x.mul(2) 2.8 us,
    x.mul(two) 1.3 us on a (1, 512) tensor), and a batch-1 step is all such small ops."""
    return like.new_tensor(2.0), like.new_tensor(-1.0)


def lstm_gate_order(w_t: Tensor) -> Tensor:
    """Columns i, f, g, o -> i, f, o, 2g: one sigmoid then serves all four gates, since
    tanh(x) = 2 sigmoid(2x) - 1. w_t (..., 4H)."""
    i, f, g, o = w_t.chunk(4, dim=-1)
    return torch.cat([i, f, o, 2 * g], dim=-1)


def lstm_weights(w_ih_t: Tensor, w_hh_t: Tensor, b_in: Tensor | None,
                 b_step: Tensor | None) -> Weights:
    """Gates reordered (`lstm_gate_order`); b_hh is already folded into b_in."""
    return (lstm_gate_order(w_ih_t), lstm_gate_order(w_hh_t),
            None if b_in is None else lstm_gate_order(b_in), None)


def lstm_step_sigmoid(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None,
                      consts: Constants) -> State:
    """The LSTM step on reordered weights (`lstm_gate_order`) in nine operations."""
    h, c = state
    two, minus_one = consts
    s = torch.addmm(gi, h, w_hh_t).sigmoid_()  # (B, 4H): i, f, o, sigmoid(2 g_pre)
    i, f, o, s_g = s.chunk(4, dim=1)
    c = torch.addcmul(f * c, i, s_g, value=2).sub_(i)  # f*c + i*(2 s_g - 1) = f*c + i*g
    tanh_c = torch.addcmul(minus_one, torch.mul(c, two).sigmoid_(), two)
    return o * tanh_c, c


def gru_weights(w_ih_t: Tensor, w_hh_t: Tensor, b_ih: Tensor | None,
                b_hh: Tensor | None) -> Weights:
    """n columns doubled (tanh through one sigmoid), b_hr and b_hz folded into the input
    bias; b_step keeps 2 b_hn alone, since it sits inside the reset gate's product."""
    hidden = w_hh_t.shape[0]
    scale = torch.ones(3 * hidden, dtype=w_hh_t.dtype, device=w_hh_t.device)
    scale[2 * hidden :] = 2
    if b_ih is None:
        return w_ih_t * scale, w_hh_t * scale, None, None
    rz = torch.cat([b_hh[: 2 * hidden], torch.zeros_like(b_hh[2 * hidden :])])
    return w_ih_t * scale, w_hh_t * scale, (b_ih + rz) * scale, (b_hh - rz) * scale


def gru_step_sigmoid(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None,
                     consts: Constants) -> State:
    """The GRU step on `gru_weights` in seven operations: h' = lerp(n, h, z) = n + z (h - n)."""
    h = state[0]
    hidden = h.shape[1]
    two, minus_one = consts
    gh = h @ w_hh_t if b_hh is None else torch.addmm(b_hh, h, w_hh_t)  # (B, 3H)
    rz = torch.add(gi[:, : 2 * hidden], gh[:, : 2 * hidden]).sigmoid_()  # r, z
    s = torch.addcmul(gi[:, 2 * hidden :], rz[:, :hidden], gh[:, 2 * hidden :]).sigmoid_()
    n = torch.addcmul(minus_one, s, two)  # tanh of n's pre-activation: 2 sigmoid(2p) - 1
    return (torch.lerp(n, h, rz[:, hidden:]),)


def rnn_tanh_weights(w_ih_t: Tensor, w_hh_t: Tensor, b_in: Tensor | None,
                     b_step: Tensor | None) -> Weights:
    """Everything doubled: tanh(p) = 2 sigmoid(2p) - 1."""
    return 2 * w_ih_t, 2 * w_hh_t, None if b_in is None else 2 * b_in, None


def rnn_tanh_step_sigmoid(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None,
                          consts: Constants) -> State:
    """The tanh RNN step on doubled weights in three operations."""
    two, minus_one = consts
    return (torch.addcmul(minus_one, torch.addmm(gi, state[0], w_hh_t).sigmoid_(), two),)


def rnn_relu_step(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None,
                  consts: Constants) -> State:
    """The relu RNN step in two operations."""
    return (torch.addmm(gi, state[0], w_hh_t).relu_(),)


def as_is(w_ih_t: Tensor, w_hh_t: Tensor, b_in: Tensor | None,
          b_step: Tensor | None) -> Weights:
    return w_ih_t, w_hh_t, b_in, b_step


def lstm_weights_doubled_g(w_ih_t: Tensor, w_hh_t: Tensor, b_in: Tensor | None,
                           b_step: Tensor | None) -> Weights:
    """Gates i, f, g, o with g's columns doubled: the compiled kernel's convention."""
    hidden = w_hh_t.shape[0]
    scale = torch.ones(4 * hidden, dtype=w_hh_t.dtype, device=w_hh_t.device)
    scale[2 * hidden : 3 * hidden] = 2
    return w_ih_t * scale, w_hh_t * scale, None if b_in is None else b_in * scale, None


def lstm_step_compiled(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None,
                       consts: Constants) -> State:
    """The LSTM step in two calls: the product and one kernel (`kernels.cpp`)."""
    h, c = state
    pre = torch.addmm(gi, h, w_hh_t)  # (B, 4H): i, f, 2 g, o pre-activations
    h_new, c_new = torch.empty_like(h), torch.empty_like(c)
    load().lstm_forward(pre, c, None, c_new, None, h_new)
    return h_new, c_new


def gru_step_compiled(gi: Tensor, state: State, w_hh_t: Tensor, b_hh: Tensor | None,
                      consts: Constants) -> State:
    """The GRU step on plain weights in two calls: the product and one kernel."""
    h = state[0]
    gh = h @ w_hh_t if b_hh is None else torch.addmm(b_hh, h, w_hh_t)  # (B, 3H)
    h_new = torch.empty_like(h)
    load().gru_forward(gi, gh, h, None, h_new, 2.0)  # gi, a fresh lookup or product: scratch
    return (h_new,)


STEPPERS = {"lstm": (lstm_weights, lstm_step_sigmoid), "gru": (gru_weights, gru_step_sigmoid),
            "rnn_tanh": (rnn_tanh_weights, rnn_tanh_step_sigmoid),
            "rnn_relu": (as_is, rnn_relu_step)}
"""Per cell kind: how its weights are prepared once, and the step that uses them."""

COMPILED_STEPPERS = {"lstm": (lstm_weights_doubled_g, lstm_step_compiled),
                     "gru": (as_is, gru_step_compiled),
                     # the RNNs keep their two or three small ops: measured at batch 1, one
                     # operator call costs more than they do (bench_rnn_lm.py sampling rows)
                     "rnn_tanh": (rnn_tanh_weights, rnn_tanh_step_sigmoid),
                     "rnn_relu": (as_is, rnn_relu_step)}
"""The same on the compiled kernels (`--kernels compiled`; float32 on the CPU, batch > 1)."""

COLUMN_BLOCK = 64  # output columns per block of a weight packed for `stack_step.cpp`
STACK_KINDS = {"lstm": 0, "gru": 1, "rnn_tanh": 2, "rnn_relu": 3}  # stack_step.cpp's Kind


def pack_columns(w_t: Tensor) -> Tensor:
    """W^T (K, N) -> (ceil(N / 64), K, 64), zero-padded: each block of 64 output columns one
    contiguous stream over the K inputs, the batch-1 product's layout (`stack_step.cpp`)."""
    k, n = w_t.shape
    padded = F.pad(w_t, (0, -n % COLUMN_BLOCK))
    return padded.view(k, -1, COLUMN_BLOCK).transpose(0, 1).contiguous()


class StackStep:
    """A whole stack's batch-1 step as one compiled operator call (`stack_step.cpp`): the
    table row, per layer the products and the cell update, the projection. Built from a
    compiled stepper's prepared weights (its conventions) and its table."""

    def __init__(self, stepper: "LMStepper"):
        empty = stepper.embedding.new_empty(0)
        per_layer = [[], [], [], []]  # w_ih, b_in, w_hh, b_step
        for layer, (w_ih_t, w_hh_t, b_in, b_step) in enumerate(stepper.layers):
            per_layer[0].append(pack_columns(w_ih_t) if layer > 0 else empty)  # 0: the table
            per_layer[1].append(b_in if layer > 0 and b_in is not None else empty)
            per_layer[2].append(pack_columns(w_hh_t))
            per_layer[3].append(empty if b_step is None else b_step)
        self.table, self.per_layer = stepper.table.contiguous(), per_layer
        self.proj = pack_columns(stepper.proj_w_t), stepper.proj_b.contiguous()
        self.kind, self.empty = STACK_KINDS[stepper.kind.name], empty
        self.zeros = stepper.zeros
        self.op = load().stack_step

    def __call__(self, idx: Tensor, state: LMState | None) -> tuple[Tensor, LMState]:
        """idx (1,), state | None -> logits (1, V), state."""
        state = state or self.zeros(1)
        h, c = state[0], state[1] if len(state) > 1 else self.empty
        if idx.dtype != torch.int64:
            idx = idx.long()
        out = self.op(self.table, idx, *self.per_layer, h.contiguous(), c.contiguous(),
                      *self.proj, self.kind)
        return out[0], tuple(out[1:])


class LMStepper:
    """`stepper(idx (B,), states | None) -> (logits (B, V), states)`; states per layer."""

    def __init__(self, model: torch.nn.Module, eager: bool = False):
        """`model`: a `seqlm.nn.lm.RecurrentLM` (this module is imported by it, not the
        other way round); `eager`: torch ops only, never the compiled kernels (what an
        exporter can trace)."""
        rnn = model.rnn
        self.eager = eager
        self.hidden_size, self.num_layers = rnn.hidden_size, rnn.num_layers
        self.embedding = model.embedding.weight.detach()  # (V, E)
        self.proj_w_t = model.proj.weight.detach().t().contiguous()  # (H, V)
        self.proj_b = model.proj.bias.detach()
        # a stack that steps itself (minGRU, minLSTM: no recurrent matmul to prepare)
        self.stack = rnn if isinstance(rnn, MinRecurrent) else None
        self.whole = None  # the compiled batch-1 stack step (`StackStep`), where it applies
        self.state_size = 1 if self.stack is not None else rnn.kind.state_size
        if self.stack is None:
            self._prepare_cells(rnn)

    def _prepare_cells(self, rnn) -> None:
        """Transposed, prepared weights and folded biases of an RNN / LSTM / GRU stack."""
        self.kind = rnn.kind
        compiled = not self.eager and getattr(rnn, "kernels", "eager") == "compiled" and \
            self.embedding.device.type == "cpu" and self.embedding.dtype == torch.float32
        prepare, self.step = (COMPILED_STEPPERS if compiled else STEPPERS)[self.kind.name]
        self.constants = constants(self.embedding)
        self.layers = []
        for layer in range(rnn.num_layers):
            w_ih, w_hh_t, b_in, b_step = rnn.direction_weights(f"_l{layer}")
            prepared = prepare(w_ih.detach().t(), w_hh_t.detach(),
                               None if b_in is None else b_in.detach(),
                               None if b_step is None else b_step.detach())
            self.layers.append(tuple(None if w is None else w.contiguous() for w in prepared))
        w_ih_t, _, b_in, _ = self.layers[0]
        self.table = None  # layer 0's input projection of every token: (V, G*H)
        if self.embedding.shape[0] * w_ih_t.shape[1] <= TABLE_LIMIT:
            self.table = self.embedding @ w_ih_t + (0 if b_in is None else b_in)
        # batch 1 on the compiled kernels: the whole stack in one operator call
        self.whole = StackStep(self) if compiled and self.table is not None else None

    def zeros(self, batch: int) -> LMState:
        zero = self.embedding.new_zeros(self.num_layers, batch, self.hidden_size)
        return (zero,) * self.state_size

    def __call__(self, idx: Tensor, state: LMState | None) -> tuple[Tensor, LMState]:
        """idx (B,), state | None -> logits (B, V), state."""
        if self.stack is not None:
            x = F.embedding(idx, self.embedding)  # (B, E)
            h, h_n = self.stack.step(x, None if state is None else state[0])
            return torch.addmm(self.proj_b, h, self.proj_w_t), (h_n,)
        if self.whole is not None and idx.shape[0] == 1:
            return self.whole(idx, state)
        if state is None:
            state = self.zeros(idx.shape[0])
        x = None if self.table is not None else F.embedding(idx, self.embedding)  # (B, E)
        new = []
        per_layer = zip(*(part.unbind(0) for part in state), strict=True)  # one op per part
        for layer, (w_ih_t, w_hh_t, b_in, b_step) in enumerate(self.layers):
            if layer == 0 and self.table is not None:
                gi = F.embedding(idx, self.table)  # (B, G*H): a lookup, no matmul
            else:
                gi = x @ w_ih_t if b_in is None else torch.addmm(b_in, x, w_ih_t)
            layer_state = self.step(gi, next(per_layer), w_hh_t, b_step, self.constants)
            new.append(layer_state)
            x = layer_state[0]  # (B, H)
        stacked = tuple(torch.stack(part) for part in zip(*new, strict=True))  # (L, B, H) each
        return torch.addmm(self.proj_b, x, self.proj_w_t), stacked  # (B, V)
