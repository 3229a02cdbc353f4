"""A whole-sequence LSTM direction as one autograd node, with its backward written out.

Why: with one autograd node per elementwise op and per step, backward pays for ~10 graph nodes
per step, a concatenation of the four gate gradients per step, and, worst, T separate weight
gradients dL/dW_hh = dgates_t^T h_{t-1} each added into one (4H, H) buffer. Here the forward
runs the recurrence without building a graph, keeps the gate activations, and the backward
walks the steps in reverse writing every step's gate gradient into one (B, T, 4H) buffer;
dL/dW_hh is then a single (4H, B*T) x (B*T, H) matmul. Same equations as `cells.lstm_step`
(torch's LSTM, gates i, f, g, o):

    gates = gi_t + h_{t-1} W_hh^T;  i, f, o = sigmoid, g = tanh
    c_t = f * c_{t-1} + i * g;      h_t = o * tanh(c_t)

`gi` (B, T, 4H) is the input projection with both biases already added (the layer computes it
in one matmul, and autograd carries its gradient on to W_ih, b_ih, b_hh and x).
Checked against torch.nn.LSTM's gradients in tests/nn/test_recurrent.py.
Leaves out: double backward (a second derivative needs the autograd path), masking (padded
batches use the per-step path).
"""

from collections.abc import Callable

import torch
from torch import Tensor

Linear = Callable[[Tensor, Tensor | None], Tensor]


def recurrent_matmul(weight: Tensor, batch: int) -> Linear:
    """`f(x, add) = x @ weight^T + add` for one weight used at every step.

    On CPU in float32 the weight is reordered once into oneDNN's blocked layout (the layout
    torch.nn.LSTM's oneDNN kernel uses internally), which makes each of the T small matmuls
    about a quarter faster; elsewhere, or if this torch build lacks the op, plain addmm."""
    if weight.device.type == "cpu" and weight.dtype == torch.float32 \
            and torch.backends.mkldnn.is_available():
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, batch)
            linear = torch.ops.mkldnn._linear_pointwise

            def onednn(x: Tensor, add: Tensor | None) -> Tensor:
                if add is None:
                    return linear(x, packed, None, "none", [], "")
                return linear.binary(x, add, packed, None, "add")

            return onednn
        except (AttributeError, RuntimeError, NotImplementedError):
            pass
    weight_t = weight.t()
    return lambda x, add: x @ weight_t if add is None else torch.addmm(add, x, weight_t)


class FusedLSTM(torch.autograd.Function):
    """apply(gi (B, T, 4H), h0 (B, H), c0 (B, H), w_hh (4H, H)) -> (out (B, T, H), h_T, c_T).

    Every step reads and writes contiguous (B, ...) rows: the input projection is made
    time-major once, and the per-step activations are kept as the list of tensors they are
    (stacking them would copy tens of megabytes per layer for nothing)."""

    @staticmethod
    def forward(ctx, gi: Tensor, h0: Tensor, c0: Tensor, w_hh: Tensor):
        batch, steps, four_h = gi.shape
        hidden = four_h // 4
        gi = gi.transpose(0, 1).contiguous()  # (T, B, 4H): each step's rows contiguous
        recur = recurrent_matmul(w_hh, batch)
        acts, cells, tanh_cells, hs = [], [], [], []  # per step; kept as is, never stacked
        h, c = h0, c0
        for t in range(steps):
            a = recur(h, gi[t])  # (B, 4H) = gi_t + h W_hh^T
            a[:, : 2 * hidden].sigmoid_()  # i, f
            a[:, 2 * hidden : 3 * hidden].tanh_()  # g
            a[:, 3 * hidden :].sigmoid_()  # o
            i, f, g, o = a.chunk(4, dim=1)
            c = torch.addcmul(f * c, i, g)  # f*c + i*g
            tanh_c = torch.tanh(c)
            h = o * tanh_c
            acts.append(a)
            cells.append(c)
            tanh_cells.append(tanh_c)
            hs.append(h)
        out = torch.stack(hs, dim=1)  # (B, T, H)
        ctx.save_for_backward(h0, c0, w_hh)
        ctx.steps = (acts, cells, tanh_cells, hs)  # intermediates, not inputs or outputs
        return out, h.clone(), c.clone()

    @staticmethod
    def backward(ctx, d_out: Tensor | None, d_hn: Tensor | None, d_cn: Tensor | None):
        h0, c0, w_hh = ctx.saved_tensors
        acts, cells, tanh_cells, hs = ctx.steps
        steps, (batch, four_h) = len(acts), acts[0].shape
        hidden = four_h // 4
        back = recurrent_matmul(w_hh.t().contiguous(), batch)  # d -> d W_hh
        d_gates = h0.new_empty(steps, batch, four_h)  # (T, B, 4H): dL/d(pre-activations)
        dh = torch.zeros_like(h0) if d_hn is None else d_hn.clone()
        dc = torch.zeros_like(c0) if d_cn is None else d_cn.clone()
        for t in reversed(range(steps)):
            if d_out is not None:
                dh = dh + d_out[:, t]  # h_t feeds the output and the next step
            a = acts[t]  # (B, 4H)
            i, f, g, o = a.chunk(4, dim=1)
            c_prev = cells[t - 1] if t > 0 else c0
            tanh_c = tanh_cells[t]
            d_a = d_gates[t]  # (B, 4H): first dL/d(activations), then pre-activations
            di, df, dg, do = d_a.chunk(4, dim=1)
            torch.mul(dh, tanh_c, out=do)  # backprop into o
            dc = torch.addcmul(dc, dh * o, 1 - tanh_c * tanh_c)  # backprop into c_t via tanh
            torch.mul(dc, g, out=di)  # backprop into i
            torch.mul(dc, c_prev, out=df)  # backprop into f
            torch.mul(dc, i, out=dg)  # backprop into g
            dc = dc * f  # backprop into c_{t-1}
            slope = a * (1 - a)  # sigmoid' = s (1 - s) for i, f, o ...
            slope[:, 2 * hidden : 3 * hidden] = 1 - g * g  # ... tanh' = 1 - g^2 for g
            d_a.mul_(slope)  # backprop through the nonlinearities
            dh = back(d_a, None)  # backprop into h_{t-1}: (B, 4H) x (4H, H)
        h_prev = torch.stack([h0, *hs[:-1]])  # (T, B, H): h_{t-1}
        # backprop into W_hh: every step at once
        d_w_hh = d_gates.reshape(-1, four_h).t() @ h_prev.reshape(-1, hidden)
        return d_gates.transpose(0, 1), dh, dc, d_w_hh
