"""The fused directions' step loops on the compiled kernels: one C++ call per sequence and pass.

Each loop has the signature and the contract of the eager loop it replaces (`lstm`, `gru`,
`rnn`: `_forward_steps`, `_backward_steps`; read those first) and the same matrix products
(`seqlm.nn.fast.matmul`); the elementwise work between two products is one call of
`kernels.cpp` instead of 3-12 torch ops. Per step and layer that leaves forward: the
recurrent product and one kernel; backward: one kernel and the product back into h_{t-1}.
The whole time loop, products included, is one call (`loops.cpp`: no Python between steps),
in float32, float64 and with bf16 products.
`COMPILED` is the registry of whole-sequence paths (as `seqlm.nn.fast.SEQUENCES`): each takes
the loops here for float32 and float64 CPU tensors (float64: the gradchecks of this path) and
the eager ones elsewhere (CUDA). With bf16 products the LSTM's loops read and write the bf16
operands themselves (no casts of h, of the projections or of the gate gradients). Leaves out:
bf16 activations (the elementwise work stays fp32; the products are bf16 under autocast
either way).
"""

import torch
from torch import Tensor

from seqlm.nn.fast.gru import gru_sequence
from seqlm.nn.fast.kernels import load
from seqlm.nn.fast.lstm import lstm_sequence
from seqlm.nn.fast.matmul import Dtype, State, cast, onednn_weight
from seqlm.nn.fast.rnn import rnn_sequence


def _as(t: Tensor, like: Tensor) -> Tensor:
    """A kernel operand: like's dtype (a bf16 product is widened), unit-stride rows."""
    if t.dtype != like.dtype or t.stride(-1) != 1:
        return t.to(like.dtype).contiguous()
    return t


def _bf16_state(out: Tensor, dtype: Dtype) -> bool:
    """bf16 products on a float32 recurrence: the loops' bf16 kernels apply."""
    return dtype == torch.bfloat16 and out.dtype == torch.float32


def lstm_forward_steps(gi: Tensor, h: Tensor, c: Tensor, w_hh: Tensor, out: Tensor,
                       cells: Tensor, tanh_cells: Tensor, dtype: Dtype
                       ) -> tuple[Tensor, Tensor | None]:
    """`lstm._forward_steps` as one call (gi's g block and w_hh's come doubled, as there).
    With bf16 products the kernel reads the bf16 input projection and product itself (no
    whole-sequence cast of gi, no per-step add) and writes h also in bf16, the next
    product's operand and backward's (returned as out's bf16 copy)."""
    kernels = load()
    c = _as(c, out)
    if _bf16_state(out, dtype):  # the whole loop in one call (loops.cpp)
        gates = out.new_empty(gi.shape)  # the activations, float32
        out_low = out.new_empty(out.shape, dtype=dtype)
        w_low = w_hh.to(dtype)
        kernels.lstm_forward_loop_low(gi, _as(h.to(dtype), gi), c, w_low,
                                      onednn_weight(w_low, h.shape[0]), gates, cells,
                                      tanh_cells, out, out_low)
        return gates, out_low
    gates = _as(gi, out)
    w_hh = w_hh.to(gates.dtype)  # the whole loop in one call (loops.cpp), which adds gi_t
    kernels.lstm_forward_loop(gates, _as(h, gates), c, w_hh,  # to h W_hh^T itself: oneDNN's
                              onednn_weight(w_hh, h.shape[0]),  # post-op add costs 10-15%
                              cells, tanh_cells, out)
    return gates, None


def lstm_backward_steps(gates: Tensor, cells: Tensor, tanh_cells: Tensor, c0: Tensor,
                        w_hh: Tensor, d_out: Tensor | None, dh: Tensor, dc: Tensor,
                        d_gates: Tensor, dtype: Dtype, scratch: Tensor | None = None
                        ) -> tuple[Tensor, Tensor, Tensor | None]:
    """`lstm._backward_steps` as one call; dc is updated in place. With bf16 products the
    kernel also writes each step's gradient in bf16 (returned: the operand of
    the step's product and of the weight gradients, no per-step or whole-sequence cast),
    into `scratch` (the spent bf16 input projections) if given: no fresh pages to fault."""
    kernels = load()
    batch = gates.shape[1]
    dc = _as(dc, gates)  # the caller's own copy: updated in place, step by step
    d_low = None  # the whole walk in one call (loops.cpp); with bf16 products in bf16 too
    if _bf16_state(gates, dtype):
        d_low = scratch if scratch is not None else gates.new_empty(gates.shape, dtype=dtype)
    w_back = w_hh.t().to(gates.dtype if d_low is None else dtype).contiguous()  # (H, 4H)
    dh = kernels.lstm_backward_loop(gates, cells, tanh_cells, _as(c0, gates), w_back,
                                    onednn_weight(w_back, batch), d_out, _as(dh, gates), dc,
                                    d_gates, d_low)
    return dh.to(dc.dtype), dc, d_low


def gru_forward_steps(gates: Tensor, h: Tensor, w_hh: Tensor, b_hh: Tensor | None,
                      out: Tensor, gh_n: Tensor, dtype: Dtype) -> None:
    """`gru._forward_steps` as one call (loops.cpp; n = tanh(p) via 2p in the kernel)."""
    w_hh, b_hh = cast(w_hh, dtype), None if b_hh is None else cast(b_hh, dtype)
    load().gru_forward_loop(gates, _as(h, gates), w_hh, b_hh, onednn_weight(w_hh, h.shape[0]),
                            gh_n, out)


def gru_backward_steps(gates: Tensor, gh_n: Tensor, out: Tensor, h0: Tensor, w_hh: Tensor,
                       d_out: Tensor | None, dh: Tensor, d_gh: Tensor, d_pn: Tensor,
                       dtype: Dtype) -> Tensor:
    """`gru._backward_steps` as one call (loops.cpp)."""
    w_back = cast(w_hh.t(), dtype).contiguous()  # (H, 3H): d gh -> d h
    return load().gru_backward_loop(gates, gh_n, out, _as(h0, out), w_back,
                                    onednn_weight(w_back, gates.shape[1]), d_out,
                                    _as(dh, out), d_gh, d_pn)


def rnn_forward_steps(gi: Tensor, h: Tensor, w_hh: Tensor, out: Tensor, relu: bool,
                      dtype: Dtype) -> None:
    """`rnn._forward_steps` as one call (loops.cpp; tanh: gi and w_hh come doubled)."""
    w_hh = cast(w_hh, dtype)
    load().rnn_forward_loop(gi, _as(h, gi), w_hh, onednn_weight(w_hh, h.shape[0]), out, relu)


def rnn_backward_steps(out: Tensor, h0: Tensor, w_hh: Tensor, d_out: Tensor | None,
                       dh: Tensor, d_pre: Tensor, relu: bool, dtype: Dtype) -> Tensor:
    """`rnn._backward_steps` as one call (loops.cpp)."""
    w_back = cast(w_hh.t(), dtype).contiguous()  # (H, H): d p -> d h
    dh = load().rnn_backward_loop(out, w_back, onednn_weight(w_back, out.shape[1]), d_out,
                                  _as(dh, out), d_pre, relu)
    return dh.to(h0.dtype)


LOOPS = {"lstm": (lstm_forward_steps, lstm_backward_steps),
         "gru": (gru_forward_steps, gru_backward_steps),
         "rnn": (rnn_forward_steps, rnn_backward_steps)}


def compiled_sequence(sequence, loops):
    """`sequence` (an eager whole-sequence path) with the compiled loops for float32 / float64
    CPU inputs; other inputs (CUDA) keep the eager loops."""

    def run(x: Tensor, w_ih: Tensor | None, b: Tensor | None, b_step: Tensor | None,
            state: State, w_hh: Tensor, dtype: Dtype = None,
            ids: Tensor | None = None) -> tuple[Tensor, State]:
        usable = x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64)
        return sequence(x, w_ih, b, b_step, state, w_hh, dtype, loops if usable else None,
                        ids)

    return run


COMPILED = {"lstm": compiled_sequence(lstm_sequence, LOOPS["lstm"]),
            "gru": compiled_sequence(gru_sequence, LOOPS["gru"]),
            "rnn_tanh": compiled_sequence(rnn_sequence(relu=False), LOOPS["rnn"]),
            "rnn_relu": compiled_sequence(rnn_sequence(relu=True), LOOPS["rnn"])}
