"""A whole-sequence Elman RNN direction (tanh or relu) as one autograd node, backward written.

The same construction as `seqlm.nn.fast.lstm` (read that module first). Same equations as
`cells.rnn_tanh_step` / `rnn_relu_step` (torch's RNN; b = b_ih + b_hh, folded by the layer):

    p_t = x_t W_ih^T + b + h_{t-1} W_hh^T;   h_t = tanh(p_t) | relu(p_t)

tanh comes as 2 sigmoid(2p) - 1 with W_ih, b and W_hh doubled once (`activations`). Backward
needs only the outputs: tanh' = 1 - h^2, relu' = [h > 0] (0 at 0, as torch); the (T, B, H)
buffer of the input projections is reused for every step's dL/dp. Products in `dtype` (bf16
on the CPU, `seqlm.nn.fast.matmul`), the rest in x's dtype. Checked against torch.nn.RNN in
tests/nn/test_fused.py. Leaves out: double backward, masking (padded batches use the
per-step path).
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


def _forward_steps(gi: Tensor, h: Tensor, w_hh: Tensor, out: Tensor, relu: bool,
                   dtype: Dtype) -> None:
    """h_t into out (T, B, H) from the input projections gi (T, B, H); for tanh, gi and w_hh
    come doubled."""
    recur = prepacked_linear(w_hh, h.shape[0], dtype=dtype)
    two, minus_one = gi.new_full((), 2.0), gi.new_full((), -1.0)  # 0-dim, device-made
    for t in range(gi.shape[0]):
        pre = recur(h, gi[t])  # (B, H) = gi_t + h W_hh^T
        if relu:
            h = torch.clamp_min(pre, 0, out=out[t])
        else:  # tanh(p) = 2 sigmoid(2p) - 1
            h = torch.addcmul(minus_one, pre.sigmoid_(), two, out=out[t])


def _backward_steps(out: Tensor, h0: Tensor, w_hh: Tensor, d_out: Tensor | None, dh: Tensor,
                    d_pre: Tensor, relu: bool, dtype: Dtype) -> Tensor:
    """Walk the steps in reverse writing dL/dp_t into d_pre (T, B, H); returns dL/dh_0."""
    steps, batch, _ = out.shape
    back = prepacked_linear(w_hh.t().contiguous(), batch, dtype=dtype)  # d p -> d h
    one = out.new_ones(())
    if d_out is not None:
        dh = dh + d_out[steps - 1]
    for t in reversed(range(steps)):
        h = out[t]
        if relu:  # backprop through relu: h >= 0, so sign(h) = [h > 0]
            d_p = torch.sign(h, out=d_pre[t]).mul_(dh)
        else:  # backprop through tanh: 1 - h^2
            d_p = torch.addcmul(one, h, h, value=-1, out=d_pre[t]).mul_(dh)
        # backprop into h_{t-1}, which also feeds output t-1: (B, H) x (H, H) + d_out[t-1]
        dh = back(d_p, d_out[t - 1] if d_out is not None and t > 0 else None)
    return dh.to(h0.dtype)  # a bf16 product when nothing was added to the last one


class FusedRNN(torch.autograd.Function):
    """apply(x (T, B, E), w_ih (H, E), b (H) | None, h0 (B, H), w_hh (H, H), relu=False,
    single_backward=False, dtype=None, loops=None, ids=None) -> (out (T, B, H), h_T).
    single_backward, dtype, loops and ids as in `FusedLSTM` (with ids, x is the (V, H) table)."""

    @staticmethod
    def forward(ctx, x: Tensor, w_ih: Tensor, b: Tensor | None, h0: Tensor, w_hh: Tensor,
                relu: bool = False, single_backward: bool = False, dtype: Dtype = None,
                loops: Loops = None, ids: Tensor | None = None):
        forward_steps, backward_steps = loops or (_forward_steps, _backward_steps)
        steps, batch = x.shape[:2] if ids is None else ids.shape
        hidden = w_hh.shape[1]
        scale = 1 if relu else 2  # tanh through sigmoid(2p)
        # every step's projection at once (or from the table); x2: backward's
        x2, gi = project_inputs(x, w_ih, b, scale, dtype, ids, x.dtype)
        gi = cast(gi, x.dtype).view(steps, batch, hidden)
        out = x.new_empty(steps, batch, hidden)
        forward_steps(gi, h0, w_hh * scale, out, relu, dtype)
        ctx.save_for_backward(x2, w_ih, h0, w_hh, out)
        ctx.has_bias, ctx.relu, ctx.dtype = b is not None, relu, dtype
        ctx.single_backward, ctx.spent, ctx.gi = single_backward, False, gi
        ctx.backward_steps, ctx.x_shape = backward_steps, x.shape
        return out, out[-1].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_hn: Tensor | None):
        x2, w_ih, h0, w_hh, out = ctx.saved_tensors
        start_backward(ctx, "RNN")
        d_pre = ctx.gi if ctx.single_backward else torch.empty_like(ctx.gi)
        steps, batch, hidden = out.shape
        dh = torch.zeros_like(h0) if d_hn is None else d_hn.clone()
        d_out = None if d_out is None else d_out.contiguous()
        dh = ctx.backward_steps(out, h0, w_hh, d_out, dh, d_pre, ctx.relu, ctx.dtype)
        d2 = d_pre.view(steps * batch, hidden)  # (T*B, H)
        d_low = cast(d2, ctx.dtype)  # the products' operand, converted once
        need = ctx.needs_input_grad
        d_x, d_w_ih = project_gradients(d2, d_low, x2, w_ih, need[0], need[1], ctx.dtype,
                                        ctx.x_shape)
        d_b = d2.sum(0) if need[2] and ctx.has_bias else None  # backprop into b: fp32 sum
        d_w_hh = None
        if need[4]:  # backprop into W_hh: h_{t-1} is h0 at t = 0, then out[t - 1]
            d_w_hh = recurrent_weight_gradient(d_low.view(steps, batch, -1), h0, out, w_hh)
        return d_x, d_w_ih, d_b, dh, d_w_hh, None, None, None, None, None


def rnn_sequence(relu: bool):
    """The whole-sequence path of an Elman direction (`FusedRNN`): x (T, B, E) time-major
    -> (output (T, B, H), (h_T,)); b_step is None (the layer folds b_hh into b); loops and ids
    as in `lstm_sequence`."""

    def sequence(x: Tensor, w_ih: Tensor | None, b: Tensor | None, b_step: Tensor | None,
                 state: State, w_hh: Tensor, dtype: Dtype = None, loops: Loops = None,
                 ids: Tensor | None = None) -> tuple[Tensor, State]:
        out, h = FusedRNN.apply(x, w_ih, b, state[0], w_hh, relu, True, dtype, loops, ids)
        return out, (h,)

    return sequence
