"""The gated linear recurrence h_t = a_t * h_{t-1} + b_t, computed three ways.

What is left of a GRU or LSTM once its gates see only the input (Feng et al. 2024, "Were RNNs
All We Needed?"): elementwise, with a_t in (0, 1) and b_t > 0 computed from x_t alone,

    a_t = sigma(-u_t)  b_t = sigma(u_t) g(v_t)      g(v) = v + 1/2 if v >= 0 else sigma(v)

(minGRU: u is the update gate's pre-activation, so a = 1 - z, b = z g(h~); minLSTM: u = log i
- log f of its two gates, so a and sigma(u) are the normalised f' and i'). g is the paper's
positive activation for its log-space variant: continuous, > 0, so that log b exists.
Composing two steps gives another step, (a2, b2) o (a1, b1) = (a2 a1, a2 b1 + b2): the map is
associative, so all T states can be formed by a parallel scan of depth O(log T) (Blelloch
1990). The three paths below compute the same function; `SCANS` names them:

    sequential  one step per time step, T dependent elementwise ops; `GatedRecurrence` is
                the gates and the loop as one autograd node whose backward is written out
                (`LinearRecurrence`: the loop alone, for given a, b): with g_t = dL/dh_t,
                    g_t = dL/dh_t(direct) + a_{t+1} g_{t+1}    (the same recurrence, reversed)
                    dL/da_t = g_t h_{t-1},   dL/db_t = g_t
    log         Heinsen (2023, arXiv:2311.06281), all steps at once:
                    a*_t = sum_{s<=t} log a_s
                    h_t  = exp(a*_t + logcumsumexp_{s<=t}(log b_s - a*_s)) + exp(a*_t) h_0
                the h_0 term is added in linear space (Heinsen puts log h_0 first in the
                sum): then h_0 may hold zeros or negatives, and log 0 never meets autograd.
    chunked     the log form inside chunks of C steps, all chunks at once, then one
                sequential step per chunk carries the state on: h = local + A_chunk * carry.

Precision: a*_t grows like t * mean(-log a), and both a*_t and the logcumsumexp term are
rounded at their own magnitude, so the log path's float32 error grows linearly with T (it
ends as an absolute error ~ eps |a*_t| on log h). The chunked path resets the cumulative sums
every C steps: its error is that of T = C, whatever T. The sequential path's error does not
grow (each step is a contraction). Measured numbers: docs/minrnn.md.
Leaves out: a work-efficient Blelloch tree in Python (torch's cumsum/logcumsumexp already do
the scan inside one kernel), negative coefficients (parity-capable variants), complex logs.
"""

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.autograd.function import once_differentiable

Scan = Callable[[Tensor, Tensor, Tensor | None, int], Tensor]


def g(v: Tensor) -> Tensor:
    """The paper's positive activation: v + 1/2 for v >= 0, sigma(v) below (continuous)."""
    return torch.where(v >= 0, v.clamp_min(0) + 0.5, torch.sigmoid(v))


def log_g(v: Tensor) -> Tensor:
    """log g(v), never forming g(v) for v < 0: log sigma(v) = -softplus(-v)."""
    return torch.where(v >= 0, torch.log(v.clamp_min(0) + 0.5), -F.softplus(-v))


def coefficients(u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """(a, b) of h_t = a h_{t-1} + b from the gate pre-activations u, v (same shape)."""
    return torch.sigmoid(-u), torch.sigmoid(u) * g(v)


def log_coefficients(u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """(log a, log b), each formed without a log of a rounded-to-zero number."""
    return -F.softplus(u), -F.softplus(-u) + log_g(v)


def _forward_loop(a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
    """h_t = a_t h_{t-1} + b_t for t = 0 .. T-1, one addcmul per step: (B, T, H)."""
    out = torch.empty_like(b)
    h = h0
    for t in range(b.shape[1]):
        h = torch.addcmul(b[:, t], a[:, t], h, out=out[:, t])  # (B, H)
    return out


def _reverse_loop(a: Tensor, d_out: Tensor) -> Tensor:
    """g_t = d_t + a_{t+1} g_{t+1}, from t = T-1 down: the gradient of every h_t (B, T, H),
    from its output and through the future (the forward recurrence, run backwards)."""
    grad = d_out.clone()
    for t in range(grad.shape[1] - 2, -1, -1):
        grad[:, t].addcmul_(a[:, t + 1], grad[:, t + 1])  # backprop into h_t from h_{t+1}
    return grad


class LinearRecurrence(torch.autograd.Function):
    """apply(a (B, T, H), b (B, T, H), h0 (B, H)) -> h (B, T, H), h_t = a_t h_{t-1} + b_t.

    The forward runs without building a graph (one addcmul per step); the backward is the
    reverse recurrence g_t = d_t + a_{t+1} g_{t+1}, then two elementwise products for all
    steps at once. Checked with torch.autograd.gradcheck in tests/nn/test_min_rnn.py."""

    @staticmethod
    def forward(ctx, a: Tensor, b: Tensor, h0: Tensor) -> Tensor:
        out = _forward_loop(a, b, h0)
        ctx.save_for_backward(a, h0, out)
        return out

    @staticmethod
    @once_differentiable  # the reverse loop writes in place: no graph for a second derivative
    def backward(ctx, d_out: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        a, h0, out = ctx.saved_tensors
        grad = _reverse_loop(a, d_out)  # g_t = dL/dh_t
        h_prev = torch.cat([h0[:, None], out[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        d_a = grad * h_prev  # backprop into a_t: it multiplies h_{t-1}
        d_h0 = a[:, 0] * grad[:, 0] if ctx.needs_input_grad[2] else None  # into h_0
        return d_a, grad, d_h0  # backprop into b_t: added as is


class GatedRecurrence(torch.autograd.Function):
    """apply(u (B, T, H), v (B, T, H), h0 (B, H)) -> h (B, T, H): the gates and the loop as one
    node, h_t = sigma(-u_t) h_{t-1} + sigma(u_t) g(v_t) (the sequential path's speed: a few
    (B, T, H) buffers instead of one autograd node and temporary per elementwise op). With
    a = sigma(-u), s = 1 - a = sigma(u), b = s g(v) and g_t from `_reverse_loop`:

        dL/ds = g_t (g(v_t) - h_{t-1})      dL/du = dL/ds * s a      dL/dv = g_t s g'(v_t)
    """

    @staticmethod
    def forward(ctx, u: Tensor, v: Tensor, h0: Tensor) -> Tensor:
        a = torch.sigmoid(-u)  # (B, T, H)
        gv = g(v)
        out = _forward_loop(a, gv * (1 - a), h0)  # b = s g(v)
        ctx.save_for_backward(v, a, gv, h0, out)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        v, a, gv, h0, out = ctx.saved_tensors
        grad = _reverse_loop(a, d_out)  # g_t = dL/dh_t
        d_h0 = a[:, 0] * grad[:, 0] if ctx.needs_input_grad[2] else None  # backprop into h_0
        s = 1 - a
        h_prev = torch.cat([h0[:, None], out[:, :-1]], dim=1)  # (B, T, H): h_{t-1}
        d_u = h_prev.neg_().add_(gv).mul_(grad).mul_(s).mul_(a)  # into u: dL/ds * s (1 - s)
        slope = torch.where(v >= 0, 1.0, torch.sigmoid(v) * torch.sigmoid(-v))  # g'(v)
        d_v = grad.mul_(s).mul_(slope)  # backprop into v through g (grad is spent here)
        return d_u, d_v, d_h0


def wide(t: Tensor) -> Tensor:
    """float16 / bfloat16 -> float32: the recurrence always runs in float32 at least (bf16's
    8-bit mantissa would round a*_t = cumsum(log a) to 0.5 by t ~ 100, and a long chain of
    bf16 steps drifts); the matmuls around it may stay in low precision."""
    return t.float() if t.dtype in (torch.float16, torch.bfloat16) else t


def scan_sequential(u: Tensor, v: Tensor, h0: Tensor | None, chunk: int = 0) -> Tensor:
    """T dependent steps: u, v (B, T, H), h0 (B, H) | None -> h (B, T, H)."""
    u, v = wide(u), wide(v)
    start = wide(h0) if h0 is not None else u.new_zeros(u.shape[0], u.shape[2])
    return GatedRecurrence.apply(u, v, start)


def _log_scan_from_zero(log_a: Tensor, log_b: Tensor, dim: int) -> tuple[Tensor, Tensor]:
    """(h from a zero start, A = prod of a up to t) along `dim`, Heinsen's form."""
    a_star = torch.cumsum(log_a, dim)
    return torch.exp(a_star + torch.logcumsumexp(log_b - a_star, dim)), torch.exp(a_star)


def scan_log(u: Tensor, v: Tensor, h0: Tensor | None, chunk: int = 0) -> Tensor:
    """All steps at once in log space: u, v (B, T, H), h0 (B, H) | None -> h (B, T, H)."""
    local, decay = _log_scan_from_zero(*log_coefficients(wide(u), wide(v)), dim=1)
    return local if h0 is None else local + decay * wide(h0)[:, None]


def scan_chunked(u: Tensor, v: Tensor, h0: Tensor | None, chunk: int = 64) -> Tensor:
    """The log form inside chunks of `chunk` steps (all chunks at once), then one sequential
    step per chunk: u, v (B, T, H), h0 (B, H) | None -> h (B, T, H).

        time  | 0 .. C-1 | C .. 2C-1 | ... |  T padded to N*C (pad steps come last and
        local | from 0   | from 0    | ... |  are cut: nothing before them sees them)
        carry | h0       | h_{C-1}   | ... |  h = local + A_within_chunk * carry
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    batch, steps, hidden = u.shape
    n = -(-steps // chunk)
    pad = (0, 0, 0, n * chunk - steps)  # (B, N*C, H)
    log_a, log_b = (F.pad(t, pad).view(batch, n, chunk, hidden)
                    for t in log_coefficients(wide(u), wide(v)))
    local, decay = _log_scan_from_zero(log_a, log_b, dim=2)  # (B, N, C, H) each
    start = wide(h0) if h0 is not None else log_a.new_zeros(batch, hidden)
    # the chunk ends chain like single steps: end_k = A_k end_{k-1} + local_k
    ends = LinearRecurrence.apply(decay[:, :, -1], local[:, :, -1], start)  # (B, N, H)
    carry = torch.cat([start[:, None], ends[:, :-1]], dim=1)  # (B, N, H): state before chunk
    h = local + decay * carry[:, :, None]  # (B, N, C, H)
    return h.view(batch, n * chunk, hidden)[:, :steps]


SCANS: dict[str, Scan] = {"sequential": scan_sequential, "log": scan_log,
                          "chunked": scan_chunked}


def scan_path(name: str) -> Scan:
    if name not in SCANS:
        raise ValueError(f"unknown scan {name!r}; known: {', '.join(SCANS)}")
    return SCANS[name]
