"""A whole-sequence LSTM direction as one autograd node, with its backward written out.

Why: with one autograd node per elementwise op and per step, backward pays for ~10 graph nodes
per step, a concatenation of the four gate gradients per step, and, worst, T separate weight
gradients dL/dW_hh = dgates_t^T h_{t-1} each added into one (4H, H) buffer. Here the forward
runs the recurrence without building a graph, keeps the gate activations, and the backward
walks the steps in reverse writing every step's gate gradient into one (T, B, 4H) buffer;
dL/dW_hh and dL/dW_ih are then one (4H, T*B) x (T*B, .) matmul each. Same equations as
`cells.lstm_step` (torch's LSTM, gates i, f, g, o):

    gates = x_t W_ih^T + b + h_{t-1} W_hh^T;  i, f, o = sigmoid, g = tanh
    c_t = f * c_{t-1} + i * g;                h_t = o * tanh(c_t)

Everything is time-major (T, B, .), the layout in which each step's rows are contiguous, so
neither the (T, B, 4H) projections nor their gradients are ever transposed or copied (in the
profile of a batch-first version, those copies cost ~10% of a training step). One (T, B, 4H)
buffer serves as input projections, then gate activations, then gate gradients: fresh
buffers of tens of MB cost more in first-touch page faults than the arithmetic in them (the
compiled bf16 loops keep the activations in a float32 buffer of their own and reuse the bf16
projections for the bf16 gate gradients: `seqlm.nn.fast.compiled`).
`b` is b_ih + b_hh (the layer adds them; autograd carries the gradient on to both).
Checked against torch.nn.LSTM's gradients in tests/nn/test_recurrent.py.
Leaves out: double backward (a second derivative needs the autograd path), masking (padded
batches use the per-step path); with single_backward=True (the layer's choice), a second walk
of the same graph.
"""

import torch
from torch import Tensor

from seqlm.nn.fast.matmul import (
    Dtype,
    Loops,
    State,
    cast,
    prepacked_linear,
    recurrent_weight_gradient,
    start_backward,
)
from seqlm.nn.fast.table import project_gradients, project_inputs


def _forward_steps(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, out: Tensor,
                   cells: Tensor, tanh_cells: Tensor, dtype: Dtype) -> tuple[Tensor, None]:
    """Run the recurrence over the input projections gi (T, B, 4H), in the products' dtype;
    writes h_t, c_t, tanh(c_t) into the (T, B, H) buffers and returns (the gate activations
    (T, B, 4H), None): gi itself, overwritten step by step, once in out's dtype. Every buffer
    is written in place: a fresh tensor of tens of megabytes costs more in page faults on
    first touch (~20 ms per 50 MB here) than the arithmetic done in it. The g columns of
    `gi` and the g rows of `w_hh` come doubled, so one sigmoid serves all four gates:
    tanh(p) = 2 sigmoid(2p) - 1. (The None: the compiled loop's bf16 copy of out.)"""
    gates = cast(gi, out.dtype)
    recur = prepacked_linear(w_hh, h.shape[0], dtype=dtype)
    two, minus_one = gates.new_full((), 2.0), gates.new_full((), -1.0)  # 0-dim, device-made
    for t in range(gates.shape[0]):
        pre = recur(h, gates[t])  # (B, 4H) = gi_t + h W_hh^T, a recycled temporary
        a = torch.sigmoid(pre, out=gates[t])  # i, f, o and sigmoid(2 p_g)
        i, f, g, o = a.chunk(4, dim=1)
        torch.addcmul(minus_one, g, two, out=g)  # g = tanh(p_g) = 2 sigmoid(2 p_g) - 1
        c = torch.addcmul(f * c, i, g, out=cells[t])  # f*c + i*g
        tanh_c = torch.mul(c, two, out=tanh_cells[t]).sigmoid_()
        torch.addcmul(minus_one, tanh_c, two, out=tanh_c)  # tanh(c) in one op more
        h = torch.mul(o, tanh_c, out=out[t])
    return gates, None


def _backward_steps(gates: Tensor, cells: Tensor, tanh_cells: Tensor, c0: Tensor,
                    w_hh: Tensor, d_out: Tensor | None, dh: Tensor, dc: Tensor,
                    d_gates: Tensor, dtype: Dtype, scratch: Tensor | None = None
                    ) -> tuple[Tensor, Tensor, None]:
    """Walk the steps in reverse, writing dL/d(pre-activations) into d_gates (T, B, 4H),
    which may be `gates` itself (each step's activations are used before they are
    overwritten); returns dL/dh_0, dL/dc_0 and None (the compiled loop's bf16 copy of
    d_gates, which it may write into `scratch`, the spent bf16 input projections)."""
    steps, batch, four_h = gates.shape
    hidden = four_h // 4
    back = prepacked_linear(w_hh.t().contiguous(), batch, dtype=dtype)  # d -> d W_hh
    d_act, slope = gates.new_empty(2, batch, four_h)  # per-step scratch, reused
    one = gates.new_ones(())
    di, df, dg, do = d_act.chunk(4, dim=1)
    if d_out is not None:
        dh = dh + d_out[steps - 1]
    for t in reversed(range(steps)):
        a = gates[t]  # (B, 4H) activations, soon dL/d(pre-activations)
        i, f, g, o = a.chunk(4, dim=1)
        c_prev = cells[t - 1] if t > 0 else c0
        tanh_c = tanh_cells[t]
        torch.mul(dh, tanh_c, out=do)  # backprop into o
        # backprop into c_t via tanh: dc += dh o (1 - tanh_c^2)
        dc = torch.addcmul(dc, dh * o, torch.addcmul(one, tanh_c, tanh_c, value=-1))
        torch.mul(dc, g, out=di)  # backprop into i
        torch.mul(dc, c_prev, out=df)  # backprop into f
        torch.mul(dc, i, out=dg)  # backprop into g
        dc = dc * f  # backprop into c_{t-1}
        torch.addcmul(a, a, a, value=-1, out=slope)  # sigmoid' = s - s^2 for i, f, o ...
        torch.addcmul(one, g, g, value=-1, out=slope[:, 2 * hidden : 3 * hidden])  # tanh
        d_a = torch.mul(d_act, slope, out=d_gates[t])  # backprop through the nonlinearities
        # backprop into h_{t-1}, which also feeds output t-1: (B, 4H) x (4H, H) + d_out[t-1]
        dh = back(d_a, d_out[t - 1] if d_out is not None and t > 0 else None)
    return dh.to(dc.dtype), dc, None  # dh: a bf16 product when nothing was added to it


class FusedLSTM(torch.autograd.Function):
    """apply(x (T, B, E), w_ih (4H, E), b (4H) | None, h0 (B, H), c0 (B, H), w_hh (4H, H),
    single_backward=False, dtype=None, loops=None, ids=None) -> (out (T, B, H), h_T, c_T).

    single_backward=True lets backward write the gate gradients over the saved activations
    instead of into a fresh (T, B, 4H) buffer (at H=512 that buffer is 52 MB, whose page
    faults cost ~20 ms per layer); the graph can then be walked once only, and a second
    backward (retain_graph=True, gradcheck) raises. dtype: the matrix products' operand
    type (`seqlm.nn.fast.matmul`; bf16 on the CPU), everything else in x's dtype. loops:
    (forward, backward) step loops with the signatures of `_forward_steps`,
    `_backward_steps` (None: those; `seqlm.nn.fast.compiled` has compiled ones). ids (T, B):
    x is layer 0's input projection table (V, 4H), bias included, w_ih and b are None, and
    step t reads row ids[t] (`seqlm.nn.fast.table`); backward returns dL/dtable for x."""

    @staticmethod
    def forward(ctx, x: Tensor, w_ih: Tensor, b: Tensor | None, h0: Tensor, c0: Tensor,
                w_hh: Tensor, single_backward: bool = False, dtype: Dtype = None,
                loops: Loops = None, ids: Tensor | None = None):
        forward_steps, backward_steps = loops or (_forward_steps, _backward_steps)
        steps, batch = x.shape[:2] if ids is None else ids.shape
        hidden = w_hh.shape[1]
        double_g = torch.ones(4 * hidden, dtype=x.dtype, device=x.device)
        double_g[2 * hidden : 3 * hidden] = 2  # see _forward_steps
        # every step's input projection in one matmul (or from the table), x2: backward's
        x2, gi = project_inputs(x, w_ih, b, double_g, dtype, ids, dtype or x.dtype)
        gi = gi.view(steps, batch, 4 * hidden)  # in the products' dtype
        out, cells, tanh_cells = (x.new_empty(steps, batch, hidden) for _ in range(3))
        # the activations (gi's own buffer, or a new one), and out in the products' dtype or
        # None (the compiled bf16 loop writes it beside out: a cast saved, forward and back)
        gates, out_low = forward_steps(gi, h0, c0, w_hh * double_g[:, None], out, cells,
                                       tanh_cells, dtype)
        ctx.save_for_backward(x2, w_ih, h0, c0, w_hh, out)
        ctx.has_bias, ctx.single_backward, ctx.spent = b is not None, single_backward, False
        spent = None if out_low is None else gi  # bf16 (T, B, 4H): backward's scratch
        ctx.steps, ctx.dtype = (gates, cells, tanh_cells, out_low, spent), dtype  # not inputs
        ctx.backward_steps, ctx.x_shape = backward_steps, x.shape
        return out, out[-1].clone(), cells[-1].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_hn: Tensor | None, d_cn: Tensor | None):
        x2, w_ih, h0, c0, w_hh, out = ctx.saved_tensors
        start_backward(ctx, "LSTM")
        gates, cells, tanh_cells, out_low, spent = ctx.steps
        d_gates = gates if ctx.single_backward else torch.empty_like(gates)
        steps, batch, hidden = out.shape
        dh = torch.zeros_like(h0) if d_hn is None else d_hn.clone()
        dc = torch.zeros_like(c0) if d_cn is None else d_cn.clone()
        d_out = None if d_out is None else d_out.contiguous()
        dh, dc, d_low = ctx.backward_steps(gates, cells, tanh_cells, c0, w_hh, d_out, dh, dc,
                                           d_gates, ctx.dtype, spent)
        d2 = d_gates.view(steps * batch, 4 * hidden)  # (T*B, 4H)
        # the products' operand: the loop's own bf16 copy, else converted once here
        d_low = cast(d2, ctx.dtype) if d_low is None else d_low.view(steps * batch, -1)
        need = ctx.needs_input_grad
        d_x, d_w_ih = project_gradients(d2, d_low, x2, w_ih, need[0], need[1], ctx.dtype,
                                        ctx.x_shape)
        d_b = d_w_hh = None
        if need[2] and ctx.has_bias:  # backprop into b: a sum over T*B rows, in fp32
            d_b = d2.sum(0)
        if need[5]:  # backprop into W_hh: h_{t-1} is h0 at t = 0, then out[t - 1]
            d_w_hh = recurrent_weight_gradient(d_low.view(steps, batch, -1), h0,
                                               out if out_low is None else out_low, w_hh)
        return d_x, d_w_ih, d_b, dh, dc, d_w_hh, None, None, None, None


def lstm_sequence(x: Tensor, w_ih: Tensor | None, b: Tensor | None, b_step: Tensor | None,
                  state: State, w_hh: Tensor, dtype: Dtype = None, loops: Loops = None,
                  ids: Tensor | None = None) -> tuple[Tensor, State]:
    """All T steps of an LSTM direction, input projection included, as one autograd node
    (`FusedLSTM` above): x (T, B, E) time-major -> (output (T, B, H), (h_T, c_T)).
    b_step is None: the layer folds b_hh into b. loops: the step loops (None: the eager ones
    here; `seqlm.nn.fast.compiled` passes its own). ids (T, B): x is layer 0's table (V, 4H)
    and w_ih, b are None (`FusedLSTM`)."""
    # single_backward: the graph is walked once (a second walk raises), saving a big buffer
    out, h, c = FusedLSTM.apply(x, w_ih, b, state[0], state[1], w_hh, True, dtype, loops,
                                ids)
    return out, (h, c)
