"""The matrix products of a fused recurrence: prepacked weights, and bf16 products on the CPU.

A fused direction (`lstm`, `gru`, `rnn`) makes three kinds of product: the input projection
of all T steps at once and, in backward, its input and weight gradients ((T*B)-row products);
and one small recurrent product per step, forward and backward ((B)-row products).
`prepacked_linear` prepares a weight once for all of them; `weight_gradient` and
`recurrent_weight_gradient` are the once-per-sequence weight gradients.

`dtype` is the products' operand type: None keeps the tensors' own (fp32, or float64 in
gradchecks); torch.bfloat16 rounds the operands to bf16 and multiplies with fp32 accumulation
inside oneDNN (AVX512-BF16 / AMX). Measured here (Sapphire Rapids, 2 threads): the per-step
(64, 512) x (512, 2048) product 500 us in fp32, 122 us in bf16; the (6400, 512) x (512, 2048)
sequence products 52 ms and 5 ms. oneDNN returns a bf16 product; every result goes on in
fp32: the step's product is added to the fp32 input projection, the weight gradients are
returned as fp32, and the cell state, the pointwise work and the bias gradients (sums over
T*B rows) never leave fp32. Leaves out: fp16 (no CPU kernels worth having), GPUs (the fused
path runs there in fp32; cuDNN's own kernels are the better choice on a GPU).
"""

from collections.abc import Callable

import torch
from torch import Tensor

Dtype = torch.dtype | None  # the products' dtype: None keeps the inputs'
State = tuple[Tensor, ...]  # a fused direction's carried state, as seqlm.nn.cells.State

Linear = Callable[..., Tensor]
Loops = tuple[Callable[..., None], Callable[..., object]] | None  # a fused cell's step loops


def cast(x: Tensor, dtype: torch.dtype | None) -> Tensor:
    """x in the products' dtype (no copy when it is already)."""
    return x if dtype is None or x.dtype == dtype else x.to(dtype)


def onednn_weight(weight: Tensor, rows: int) -> Tensor | None:
    """weight (N, K) reordered once into oneDNN's blocked layout for `rows`-row inputs, the
    operand of `mkldnn::_linear_pointwise`; None where that op is not available (not a
    float32 / bf16 CPU tensor, or a torch build without it)."""
    if weight.device.type != "cpu" or weight.dtype not in (torch.float32, torch.bfloat16) \
            or not torch.backends.mkldnn.is_available():
        return None
    try:
        return torch.ops.mkldnn._reorder_linear_weight(weight, rows)
    except (AttributeError, RuntimeError, NotImplementedError):
        return None


def prepacked_linear(weight: Tensor, rows: int, bias: Tensor | None = None,
                     dtype: torch.dtype | None = None) -> Linear:
    """`f(x, add=None) = x @ weight^T (+ bias) (+ add)` for a weight used on `rows`-row inputs.

    On CPU the weight is reordered once into oneDNN's blocked layout (the layout
    torch.nn.LSTM's oneDNN kernel uses internally). Measured here on one thread: about a
    quarter faster than `addmm` for the T small recurrent matmuls, and 1.3-1.9x faster for the
    (T*B)-row input projections and their input gradients. Elsewhere, or if this torch build
    lacks the op, plain addmm. With dtype bf16 the result is bf16, or, given `add`, add's
    dtype (the sum is taken in fp32)."""
    weight, bias = cast(weight, dtype), None if bias is None else cast(bias, dtype)
    mixed = dtype is not None and dtype != torch.float32
    packed = onednn_weight(weight, rows)
    if packed is not None:
        try:
            linear = torch.ops.mkldnn._linear_pointwise

            def onednn(x: Tensor, add: Tensor | None = None) -> Tensor:
                x = cast(x, dtype)
                if add is None:
                    return linear(x, packed, bias, "none", [], "")
                if mixed:  # oneDNN adds only its own dtype: the sum in add's (fp32)
                    return torch.add(add, linear(x, packed, bias, "none", [], ""))
                return linear.binary(x, add, packed, bias, "add")

            return onednn
        except (AttributeError, RuntimeError, NotImplementedError):
            pass
    weight_t = weight.t()

    def plain(x: Tensor, add: Tensor | None = None) -> Tensor:
        x = cast(x, dtype)
        out = x @ weight_t if bias is None else torch.addmm(bias, x, weight_t)
        if add is None:
            return out
        return torch.add(add, out) if mixed else out.add_(add)

    return plain


def transposed_product(d: Tensor, x: Tensor) -> Tensor:
    """d^T x for d (N, G) and x (N, E) with N = T*B rows, the shape of every weight gradient:
    (G, E). In float32 on the CPU through oneDNN as (x^T d)^T, both operands read through
    transposed views (no copies): measured here on one thread (AMD EPYC, AVX-512) 97-99
    GFLOP/s against torch.mm's 81-93 (MKL's sgemm) for the benchmark's weight gradients;
    elsewhere (float64, bf16 through oneDNN already, CUDA) torch.mm."""
    if d.device.type == "cpu" and d.dtype == x.dtype == torch.float32 and d.shape[0] > 0 \
            and torch.backends.mkldnn.is_available():
        try:
            return torch.ops.mkldnn._linear_pointwise(x.t(), d.t(), None, "none", [],
                                                      "").t().contiguous()
        except (AttributeError, RuntimeError, NotImplementedError):
            pass
    return d.t() @ x


def weight_gradient(d: Tensor, x: Tensor, like: Tensor) -> Tensor:
    """dL/dW = d^T x summed over all rows in one product: d (N, G) and x (N, E), both already
    in the products' dtype -> (G, E) in like's dtype (fp32 accumulation inside either way)."""
    return transposed_product(d, x).to(like.dtype)


def recurrent_weight_gradient(d: Tensor, h0: Tensor, out: Tensor, like: Tensor) -> Tensor:
    """dL/dW_hh = sum_t d_t^T h_{t-1}, where h_{t-1} is h0 at t = 0 and out[t-1] after:
    d (T, B, G) in the products' dtype, h0 (B, H), out (T, B, H) -> (G, H) in like's dtype."""
    g, hidden = d.shape[-1], out.shape[-1]
    if d.dtype == out.dtype:  # no copy of out: every step after the first at once, then h0's
        rest = transposed_product(d[1:].reshape(-1, g), out[:-1].reshape(-1, hidden))
        return rest.addmm_(d[0].t(), cast(h0, d.dtype)).to(like.dtype)
    previous = torch.cat([cast(h0, d.dtype)[None], cast(out[:-1], d.dtype)])  # (T, B, H)
    return weight_gradient(d.reshape(-1, g), previous.reshape(-1, hidden), like)


def input_gradients(d_low: Tensor, x2: Tensor, w_ih: Tensor, need_x: bool, need_w: bool,
                    dtype: torch.dtype | None) -> tuple[Tensor | None, Tensor | None]:
    """dL/dx (T*B, E) and dL/dW_ih (G, E), in w_ih's dtype, from every step's gradient of
    the input projection at once: d_low (T*B, G) and x2 (T*B, E) in the products' dtype."""
    d_x = d_w = None
    if need_x:  # backprop into x: (T*B, G) x (G, E)
        d_x = prepacked_linear(w_ih.t().contiguous(), d_low.shape[0], dtype=dtype)(d_low)
        d_x = d_x.to(w_ih.dtype)
    if need_w:  # backprop into W_ih: every step at once
        d_w = weight_gradient(d_low, x2, w_ih)
    return d_x, d_w


def autocast_products(device: torch.device) -> torch.dtype | None:
    """The fused paths' product dtype under the autocast in force: bf16 under the CPU's
    bf16 autocast (`--precision bf16`), else None (the tensors' own dtype)."""
    if device.type == "cpu" and torch.is_autocast_enabled("cpu") \
            and torch.get_autocast_dtype("cpu") == torch.bfloat16:
        return torch.bfloat16
    return None


def start_backward(ctx, cell: str) -> None:
    """Refuse a second backward through a fused direction built single-use (its saved buffers
    are overwritten by the first), and mark this one as spent if it is single-use."""
    if ctx.spent:
        raise RuntimeError(f"Fused{cell}(single_backward=True) was already backpropagated "
                           f"through; build the {cell} with fused=False for retain_graph")
    ctx.spent = ctx.single_backward
