"""A whole-sequence GRU direction as one autograd node, with its backward written out.

The same construction as `seqlm.nn.fast.lstm` (read that module first): the forward runs the
recurrence without a graph, keeps what backward needs, and backward walks the steps in
reverse writing every step's gradient into one (T, B, 3H) buffer, so that the weight
gradients are one product each over all T*B rows. Same equations as `cells.gru_step`
(torch's GRU, gates r, z, n):

    gi = x_t W_ih^T + b_ih;   gh = h_{t-1} W_hh^T + b_hh          (B, 3H) each
    r = sigmoid(gi_r + gh_r);  z = sigmoid(gi_z + gh_z)
    n = tanh(gi_n + r * gh_n);  h_t = n + z * (h_{t-1} - n)       = (1 - z) n + z h_{t-1}

b_hn sits inside the reset gate's product, so b_hh is not folded into the input projection,
and the gradients of gi and gh differ in their n block only: d gi_n = dp_n (the gradient of
n's pre-activation), d gh_n = dp_n * r. Backward keeps d gh in the (T, B, 3H) buffer (for
dL/dW_hh and dL/db_hh) and dp_n in a (T, B, H) one, then puts dp_n into the n block to make
d gi (for dL/dx, dL/dW_ih, dL/db_ih). Saved per step: r, z, n (over the projections) and
gh_n. Products in `dtype` (bf16 on the CPU, `seqlm.nn.fast.matmul`), the rest in x's dtype.
Checked against torch.nn.GRU in tests/nn/test_fused.py. Leaves out: double backward,
masking (padded batches use the per-step path).
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


def _forward_steps(gates: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None, out: Tensor,
                   gh_n: Tensor, dtype: Dtype) -> None:
    """Run the recurrence over gates (T, B, 3H), which holds the input projections and is
    overwritten with r, z, n; writes h_t into out and gh_n = h_{t-1} W_hn^T + b_hn into
    gh_n (both (T, B, H))."""
    hidden = h.shape[1]
    recur = prepacked_linear(w_hh, h.shape[0], b_hh, dtype)
    two, minus_one = gates.new_full((), 2.0), gates.new_full((), -1.0)  # 0-dim, device-made
    for t in range(gates.shape[0]):
        gh = recur(h)  # (B, 3H)
        a = gates[t]
        rz, n = a[:, : 2 * hidden], a[:, 2 * hidden :]
        rz.add_(gh[:, : 2 * hidden]).sigmoid_()  # r, z
        g_n = gh_n[t].copy_(gh[:, 2 * hidden :])
        n.addcmul_(rz[:, :hidden], g_n).mul_(two).sigmoid_()
        torch.addcmul(minus_one, n, two, out=n)  # n = tanh(gi_n + r gh_n)
        h = torch.lerp(n, h, rz[:, hidden:], out=out[t])  # n + z (h - n)


def _backward_steps(gates: Tensor, gh_n: Tensor, out: Tensor, h0: Tensor, w_hh: Tensor,
                    d_out: Tensor | None, dh: Tensor, d_gh: Tensor, d_pn: Tensor,
                    dtype: Dtype) -> Tensor:
    """Walk the steps in reverse, writing dL/d gh into d_gh (T, B, 3H) and dL/d(n's
    pre-activation) into d_pn (T, B, H); either may be the saved buffer it overwrites
    (`gates`, `gh_n`: each step's values are read before they are overwritten). Returns
    dL/dh_0."""
    steps, batch, three_h = gates.shape
    hidden = three_h // 3
    back = prepacked_linear(w_hh.t().contiguous(), batch, dtype=dtype)  # d gh -> d h
    scratch = gates.new_empty(batch, three_h)  # d r, d z, dp_n of one step, reused
    d_rz, dp_n = scratch[:, : 2 * hidden], scratch[:, 2 * hidden :]
    slope = gates.new_empty(batch, 2 * hidden)
    one = gates.new_ones(())
    if d_out is not None:
        dh = dh + d_out[steps - 1]
    for t in reversed(range(steps)):
        a = gates[t]
        rz, n = a[:, : 2 * hidden], a[:, 2 * hidden :]
        r, z = rz[:, :hidden], rz[:, hidden:]
        h_prev = out[t - 1] if t > 0 else h0
        d_direct = dh * z  # backprop into h_{t-1} through z * h_{t-1}
        torch.sub(h_prev, n, out=d_rz[:, hidden:]).mul_(dh)  # backprop into z: dh (h - n)
        # backprop into n's pre-activation: dh (1 - z) (1 - n^2)
        torch.addcmul(one, n, n, value=-1, out=dp_n).mul_(dh - d_direct)
        torch.mul(dp_n, gh_n[t], out=d_rz[:, :hidden])  # backprop into r: dp_n gh_n
        torch.addcmul(rz, rz, rz, value=-1, out=slope)  # sigmoid' = s - s^2 for r, z
        torch.mul(dp_n, r, out=d_gh[t, :, 2 * hidden :])  # backprop into gh_n: dp_n r
        torch.mul(d_rz, slope, out=d_gh[t, :, : 2 * hidden])  # backprop through the sigmoids
        d_pn[t].copy_(dp_n)  # backprop into gi_n: dp_n itself
        if d_out is not None and t > 0:
            d_direct.add_(d_out[t - 1])  # h_{t-1} also feeds output t-1
        dh = back(d_gh[t], d_direct)  # backprop into h_{t-1} through gh: (B, 3H) x (3H, H)
    return dh


class FusedGRU(torch.autograd.Function):
    """apply(x (T, B, E), w_ih (3H, E), b_ih (3H) | None, b_hh (3H) | None, h0 (B, H),
    w_hh (3H, H), single_backward=False, dtype=None, loops=None, ids=None) -> (out (T, B, H),
    h_T). single_backward, dtype, loops and ids as in `FusedLSTM` (with ids, x is the (V, 3H)
    table, b_ih inside it)."""

    @staticmethod
    def forward(ctx, x: Tensor, w_ih: Tensor, b_ih: Tensor | None, b_hh: Tensor | None,
                h0: Tensor, w_hh: Tensor, single_backward: bool = False, dtype: Dtype = None,
                loops: Loops = None, ids: Tensor | None = None):
        forward_steps, backward_steps = loops or (_forward_steps, _backward_steps)
        steps, batch = x.shape[:2] if ids is None else ids.shape
        hidden = w_hh.shape[1]
        # every step's input projection at once (or from the table); x2: backward's
        x2, gi = project_inputs(x, w_ih, b_ih, None, dtype, ids, x.dtype)
        gates = cast(gi, x.dtype).view(steps, batch, 3 * hidden)  # then r, z, n
        out, gh_n = (x.new_empty(steps, batch, hidden) for _ in range(2))
        forward_steps(gates, h0, w_hh, b_hh, out, gh_n, dtype)
        ctx.save_for_backward(x2, w_ih, h0, w_hh, out)
        ctx.biases = (b_ih is not None, b_hh is not None)
        ctx.single_backward, ctx.spent, ctx.x_shape = single_backward, False, x.shape
        ctx.steps, ctx.dtype = (gates, gh_n), dtype  # intermediates, not inputs
        ctx.backward_steps = backward_steps
        return out, out[-1].clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_hn: Tensor | None):
        x2, w_ih, h0, w_hh, out = ctx.saved_tensors
        start_backward(ctx, "GRU")
        gates, gh_n = ctx.steps
        reuse = ctx.single_backward
        d_gh = gates if reuse else torch.empty_like(gates)
        d_pn = gh_n if reuse else torch.empty_like(gh_n)
        steps, batch, hidden = out.shape
        dh = torch.zeros_like(h0) if d_hn is None else d_hn.clone()
        d_out = None if d_out is None else d_out.contiguous()
        dh = ctx.backward_steps(gates, gh_n, out, h0, w_hh, d_out, dh, d_gh, d_pn, ctx.dtype)
        need = ctx.needs_input_grad
        d2 = d_gh.view(steps * batch, 3 * hidden)  # (T*B, 3H): d gh
        d_b_ih = d_b_hh = d_w_hh = None
        if any(ctx.biases):  # backprop into b_hh, then b_ih (gi's n block is dp_n): fp32 sums
            d_b_hh = d2.sum(0)
            if ctx.biases[0]:
                d_b_ih = torch.cat([d_b_hh[: 2 * hidden], d_pn.view(-1, hidden).sum(0)])
        d_low = cast(d2, ctx.dtype)  # the products' operand, converted once
        if need[5]:  # backprop into W_hh: h_{t-1} is h0 at t = 0, then out[t - 1]
            d_w_hh = recurrent_weight_gradient(d_low.view(steps, batch, -1), h0, out, w_hh)
        # now d gi (T*B, 3H): in the products' dtype for the products of W_ih, in fp32 for a
        # table's scatter (d_low is d2 itself where the two dtypes agree)
        d_gi = d_low if w_ih is not None else d2
        d_gi[:, 2 * hidden :].copy_(d_pn.view(-1, hidden))
        d_x, d_w_ih = project_gradients(d2, d_gi, x2, w_ih, need[0], need[1], ctx.dtype,
                                        ctx.x_shape)
        d_b_hh = d_b_hh if ctx.biases[1] else None
        return (d_x, d_w_ih, d_b_ih, d_b_hh, dh.to(h0.dtype), d_w_hh, None, None, None,
                None)


def gru_sequence(x: Tensor, w_ih: Tensor | None, b: Tensor | None, b_step: Tensor | None,
                 state: State, w_hh: Tensor, dtype: Dtype = None, loops: Loops = None,
                 ids: Tensor | None = None) -> tuple[Tensor, State]:
    """All T steps of a GRU direction as one autograd node (`FusedGRU`): x (T, B, E)
    time-major, b = b_ih, b_step = b_hh -> (output (T, B, H), (h_T,)); loops as in
    `lstm_sequence`; ids as there (x the (V, 3H) table, b inside it)."""
    out, h = FusedGRU.apply(x, w_ih, b, b_step, state[0], w_hh, True, dtype, loops, ids)
    return out, (h,)
