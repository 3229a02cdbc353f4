"""minGRU / minLSTM (seqlm.nn.min_rnn) and the scans (seqlm.nn.scan): the three paths equal
each other, carried state equals one long sequence, stepping equals the sequence path.

Tolerances, stated once: in float64 every path equals the sequential loop to 1e-10 (outputs,
final states, every gradient). In float32, relative to the largest entry: the chunked scan
within 1e-5 whatever T; the log-space scan within 1e-6 * T (its error grows linearly with T:
docs/minrnn.md measures it).
"""

import pytest
import torch
from torch.autograd import gradcheck

from seqlm.config import LMConfig
from seqlm.errors import ConfigError
from seqlm.nn.lm import RecurrentLM, build_recurrent
from seqlm.nn.min_rnn import MinGRU, MinLSTM
from seqlm.nn.scan import SCANS, LinearRecurrence, coefficients

KINDS = {"mingru": MinGRU, "minlstm": MinLSTM}
E, H, L, B = 6, 8, 2, 3


def make(kind: str, scan: str, dtype=torch.float32, **options):
    torch.manual_seed(0)
    return KINDS[kind](E, H, num_layers=L, scan=scan, chunk_size=16, **options).to(dtype)


def run(module, x, h0):
    """Outputs, final state and the gradients of a loss touching all of them."""
    x = x.clone().requires_grad_()
    h0 = None if h0 is None else h0.clone().requires_grad_()
    out, h_n = module(x, h0)
    (out.sin().sum() + (h_n * h_n).sum()).backward()
    grads = [x.grad] + [p.grad for p in module.parameters()]
    return [out, h_n, *grads, *([] if h0 is None else [h0.grad])]


def relative_error(a, b) -> float:
    a, b = a.detach(), b.detach()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-30))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("steps", [1, 5, 16, 37, 100])
@pytest.mark.parametrize("with_state", [False, True])
def test_the_three_paths_are_equal_in_float64(kind, steps, with_state):
    g = torch.Generator().manual_seed(steps)
    x = torch.randn(B, steps, E, generator=g, dtype=torch.float64)
    h0 = torch.rand(L, B, H, generator=g, dtype=torch.float64) if with_state else None
    expected = run(make(kind, "sequential", torch.float64), x, h0)
    for scan in ("log", "chunked"):
        for a, b in zip(run(make(kind, scan, torch.float64), x, h0), expected, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("steps", [1, 63, 300])
def test_the_three_paths_agree_in_float32_within_the_stated_tolerances(kind, steps):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(B, steps, E, generator=g)
    h0 = torch.rand(L, B, H, generator=g)
    expected = run(make(kind, "sequential"), x, h0)
    for scan, tol in (("chunked", 1e-5), ("log", 1e-6 * max(steps, 10))):
        for a, b in zip(run(make(kind, scan), x, h0), expected, strict=True):
            assert relative_error(a, b) < tol, (scan, relative_error(a, b))


def test_linear_recurrence_backward_passes_gradcheck():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 6, 3, generator=g, dtype=torch.float64).requires_grad_()
    b = torch.randn(2, 6, 3, generator=g, dtype=torch.float64).requires_grad_()
    h0 = torch.randn(2, 3, generator=g, dtype=torch.float64).requires_grad_()
    assert gradcheck(LinearRecurrence.apply, (a, b, h0))


def test_every_scan_equals_the_plain_loop_from_zero():
    g = torch.Generator().manual_seed(3)
    u, v = (torch.randn(2, 9, 4, generator=g, dtype=torch.float64) for _ in range(2))
    a, b = coefficients(u, v)
    h, expected = torch.zeros(2, 4, dtype=torch.float64), []
    for t in range(9):
        h = a[:, t] * h + b[:, t]
        expected.append(h)
    for name, scan in SCANS.items():
        torch.testing.assert_close(scan(u, v, None, 4), torch.stack(expected, 1),
                                   rtol=1e-12, atol=1e-12, msg=name)


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("scan", list(SCANS))
def test_state_carried_across_windows_equals_one_long_sequence(kind, scan):
    """TBPTT's carry: windows of 7, 7, 6 with h_n handed on give the 20-step run's outputs."""
    module = make(kind, scan, residual=True, layer_norm=True)
    x = torch.randn(B, 20, E, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full, full_state = module(x)
        state, outs = None, []
        for lo, hi in ((0, 7), (7, 14), (14, 20)):
            out, state = module(x[:, lo:hi], state)
            outs.append(out)
    torch.testing.assert_close(torch.cat(outs, 1), full, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(state, full_state, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", list(KINDS))
@pytest.mark.parametrize("options", [{}, {"residual": True, "layer_norm": True}])
def test_step_and_stepper_equal_the_sequence_path(cell, options):
    torch.manual_seed(0)
    model = RecurrentLM(30, LMConfig(cell=cell, embedding_dim=8, hidden_size=8, num_layers=3,
                                     dropout=0.0, **options)).eval()
    idx = torch.randint(0, 30, (2, 13))
    with torch.inference_mode():
        logits, _, final = model(idx)
        state, stepper, states, by_step, by_stepper = None, model.stepper(), None, [], []
        for t in range(idx.shape[1]):
            step_logits, state = model.step(idx[:, t], state)
            by_step.append(step_logits)
            stepper_logits, states = stepper(idx[:, t], states)
            by_stepper.append(stepper_logits)
    for got in (torch.stack(by_step, 1), torch.stack(by_stepper, 1)):
        torch.testing.assert_close(got, logits, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(state, final, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(states, final, rtol=1e-5, atol=1e-6)


def test_the_config_names_are_the_registries_names():
    from seqlm.config import LM_CELLS
    from seqlm.config import SCANS as CONFIG_SCANS

    assert tuple(SCANS) == CONFIG_SCANS
    for cell in LM_CELLS:
        assert build_recurrent(LMConfig(cell=cell, hidden_size=4, embedding_dim=4)) is not None
    with pytest.raises(ConfigError, match="is not a choice"):
        LMConfig(cell="mingruu")
    with pytest.raises(ConfigError, match="is not a choice"):
        LMConfig(cell="mingru", scan="parallel")


def test_parameters_follow_torch_names_and_residual_needs_equal_widths():
    module = MinLSTM(E, H, num_layers=2, layer_norm=True)
    assert {k: tuple(v.shape) for k, v in module.named_parameters()} == {
        "weight_ih_l0": (3 * H, E), "bias_ih_l0": (3 * H,), "weight_ih_l1": (3 * H, H),
        "bias_ih_l1": (3 * H,), "norm_weight_l1": (H,), "norm_bias_l1": (H,)}
    torch.manual_seed(0)
    plain, residual = MinGRU(H, H, num_layers=1), MinGRU(H, H, num_layers=1, residual=True)
    residual.load_state_dict(plain.state_dict())
    x = torch.randn(2, 4, H)
    torch.testing.assert_close(residual(x)[0], plain(x)[0] + x)


def test_the_chunked_scan_bounds_the_error_growth_of_the_log_scan():
    """float32 against float64 at T = 4096: the chunked scan stays at the error of one chunk,
    the log-space scan's error has grown far past it (measured 1.4e-4 against 2.2e-6)."""
    g = torch.Generator().manual_seed(5)
    u, v = (torch.randn(2, 4096, 4, generator=g, dtype=torch.float64) for _ in range(2))
    truth = SCANS["sequential"](u, v, None, 64)
    errors = {name: relative_error(SCANS[name](u.float(), v.float(), None, 64).double(), truth)
              for name in SCANS}
    assert errors["chunked"] < 1e-5 and errors["sequential"] < 1e-5, errors
    assert errors["log"] > 10 * errors["chunked"], errors


@pytest.mark.parametrize("scan", list(SCANS))
def test_the_recurrence_runs_in_float32_under_bf16_autocast(scan):
    """The matmuls may run in bfloat16; the scan widens to float32, so even the log path's
    cumulative sums stay usable at T = 1000 (in bf16 they would be rounded to 0.5 or worse)."""
    module = make(kind="mingru", scan=scan)
    x = torch.randn(2, 1000, E, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        expected, _ = module(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low, _ = module(x)
    assert low.dtype == torch.float32
    assert relative_error(low, expected) < 5e-2, relative_error(low, expected)


def test_gated_recurrence_backward_passes_gradcheck():
    """The sequential path's node: gates and loop with one written-out backward."""
    from seqlm.nn.scan import GatedRecurrence

    g = torch.Generator().manual_seed(7)
    u, v = (torch.randn(2, 7, 3, generator=g, dtype=torch.float64).requires_grad_()
            for _ in range(2))
    h0 = torch.randn(2, 3, generator=g, dtype=torch.float64).requires_grad_()
    assert gradcheck(GatedRecurrence.apply, (u, v, h0))
