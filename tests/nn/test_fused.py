"""The fused GRU and RNN directions (`seqlm.nn.fast.gru`, `rnn`): gradchecked in float64, equal
to the textbook step path and to torch.nn.GRU / RNN with copied weights; and every fused cell
with bf16 products (`seqlm.nn.fast.matmul`) equal to its fp32 self within a stated tolerance,
taken by the layers under the CPU's bf16 autocast. (The fused LSTM's own checks are in
test_recurrent.py.)"""

import pytest
import torch

from conftest import backward_node_names
from seqlm.nn.fast.gru import FusedGRU
from seqlm.nn.fast.lstm import FusedLSTM
from seqlm.nn.fast.rnn import FusedRNN
from seqlm.nn.recurrent import GRU, LSTM, RNN

T, B, E, H = 4, 2, 5, 3


def _args(shapes, dtype=torch.float64, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return [(scale * torch.randn(*shape, generator=g, dtype=dtype)).requires_grad_()
            for shape in shapes]


GRU_SHAPES = ((T, B, E), (3 * H, E), (3 * H,), (3 * H,), (B, H), (3 * H, H))
RNN_SHAPES = ((T, B, E), (H, E), (H,), (B, H), (H, H))


def test_fused_gru_gradcheck_in_double():
    args = _args(GRU_SHAPES)
    assert torch.autograd.gradcheck(lambda *a: FusedGRU.apply(*a), args)
    no_bias = args[:2] + [None, None] + args[4:]
    assert torch.autograd.gradcheck(lambda *a: FusedGRU.apply(*a), no_bias)


@pytest.mark.parametrize("relu", [False, True], ids=["tanh", "relu"])
def test_fused_rnn_gradcheck_in_double(relu):
    args = _args(RNN_SHAPES)
    assert torch.autograd.gradcheck(lambda *a: FusedRNN.apply(*a, relu), args)
    no_bias = args[:2] + [None] + args[3:]
    assert torch.autograd.gradcheck(lambda *a: FusedRNN.apply(*a, relu), no_bias)


@pytest.mark.parametrize("apply,shapes,extra", [
    (FusedGRU.apply, GRU_SHAPES, ()), (FusedRNN.apply, RNN_SHAPES, (False,))],
    ids=["gru", "rnn"])
def test_single_backward_refuses_a_second_walk(apply, shapes, extra):
    out, _ = apply(*_args(shapes, torch.float32), *extra, True)
    out.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="fused=False"):
        out.sum().backward()


LAYERS = {"gru": (GRU, torch.nn.GRU, {}), "rnn_tanh": (RNN, torch.nn.RNN, {}),
          "rnn_relu": (RNN, torch.nn.RNN, {"nonlinearity": "relu"})}


def _forward_backward(module, x, h0):
    """Outputs and every gradient of a loss touching every output and the final state."""
    x, h0 = x.clone().requires_grad_(), h0.clone().requires_grad_()
    out, h_n = module(x, h0)
    loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum() + \
        (h_n * torch.linspace(1, 2, h_n.numel()).view_as(h_n)).sum()
    loss.backward()
    return [out, h_n, x.grad, h0.grad] + [p.grad for p in module.parameters()], out.grad_fn


@pytest.mark.parametrize("kind", list(LAYERS))
def test_fused_equals_the_step_path_and_torch(kind):
    ours, theirs, extra = LAYERS[kind]
    torch.manual_seed(0)
    reference = theirs(E, 6, num_layers=2, bidirectional=True, batch_first=True, **extra)
    fused = ours(E, 6, num_layers=2, bidirectional=True, batch_first=True, **extra)
    steps = ours(E, 6, num_layers=2, bidirectional=True, batch_first=True, fused=False, **extra)
    fused.load_state_dict(reference.state_dict())
    steps.load_state_dict(reference.state_dict())
    g = torch.Generator().manual_seed(5)
    x, h0 = torch.randn(3, 17, E, generator=g), torch.randn(4, 3, 6, generator=g)
    got, grad_fn = _forward_backward(fused, x, h0)
    assert backward_node_names(grad_fn).count(f"Fused{kind[:3].upper()}Backward") == 4  # 2 x 2 ran
    for other in (steps, reference):
        want, _ = _forward_backward(other, x, h0)
        for a, b in zip(got, want, strict=True):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def _bf16_case(cell):
    """(apply, inputs, extra args) of one fused direction, T=20, B=8, E=16, H=32."""
    t, b, e, h = 20, 8, 16, 32
    gates = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}[cell]
    shapes = [(t, b, e), (gates * h, e), (gates * h,)] + [(gates * h,)] * (cell == "gru") + \
        [(b, h)] * (2 if cell == "lstm" else 1) + [(gates * h, h)]
    # x and states N(0, 1); weights and biases with torch's init's spread (1 / sqrt(3H))
    inputs = _args(shapes, torch.float32, seed=1)
    with torch.no_grad():
        for i, shape in enumerate(shapes):
            if shape[0] % h == 0 and shape[0] != t and shape != (b, h):
                inputs[i] /= (3 * h) ** 0.5
    apply = {"lstm": FusedLSTM.apply, "gru": FusedGRU.apply}.get(cell, FusedRNN.apply)
    extra = (cell == "rnn_relu", False) if cell.startswith("rnn") else (False,)
    return apply, inputs, extra


def _outputs_and_grads(apply, inputs, extra, dtype):
    inputs = [a.detach().clone().requires_grad_() for a in inputs]
    outs = apply(*inputs, *extra, dtype)
    loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs)
    loss.backward()
    return list(outs) + [a.grad for a in inputs]


# stated tolerance: relative (norm) error of every output and gradient with bf16 products
# against fp32. Measured here: 1e-3 to 5e-3 for LSTM, GRU and tanh RNN; 3e-3 for relu's
# outputs but 6e-2 to 1.1e-1 for its gradients: a relu RNN's gradients are that sensitive
# (the same inputs perturbed by 0.4% at random, in float64: 7e-2 to 1.1e-1; tanh: 5e-3 to
# 8e-3), since rounding moves pre-activations near 0 across relu's kink.
BF16_TOLERANCE = {"lstm": 2e-2, "gru": 2e-2, "rnn_tanh": 2e-2, "rnn_relu": 2e-1}


@pytest.mark.parametrize("cell", list(BF16_TOLERANCE))
def test_bf16_products_equal_fp32_within_the_stated_tolerance(cell):
    apply, inputs, extra = _bf16_case(cell)
    full = _outputs_and_grads(apply, inputs, extra, None)
    half = _outputs_and_grads(apply, inputs, extra, torch.bfloat16)
    for a, b in zip(half, full, strict=True):
        assert a.dtype == torch.float32
        assert 0 < ((a - b).norm() / b.norm()).item() < BF16_TOLERANCE[cell]


@pytest.mark.parametrize("layer", [LSTM, GRU, RNN])
def test_layers_take_bf16_products_under_the_cpus_bf16_autocast(layer):
    """Under autocast the layer runs the recurrence with autocast off, in fp32, with the
    products in bf16: exactly what the fused node computes given dtype=bf16."""
    torch.manual_seed(0)
    module = layer(8, 16, batch_first=True)
    x = torch.randn(4, 10, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, _ = module(x)
    w_ih, w_hh_t, b, b_step = module.direction_weights("_l0")
    apply, state = {LSTM: (FusedLSTM.apply, 2), GRU: (FusedGRU.apply, 1),
                    RNN: (FusedRNN.apply, 1)}[layer]
    zeros = [torch.zeros(4, 16)] * state
    args = [b] if b_step is None else [b, b_step]
    extra = (False, False) if layer is RNN else (False,)
    want = apply(x.transpose(0, 1), w_ih, *args, *zeros, w_hh_t.t(), *extra, torch.bfloat16)
    assert out.dtype == torch.float32
    assert torch.equal(out, want[0].transpose(0, 1))
    assert not torch.equal(out, module(x)[0])  # and fp32 outside autocast


@pytest.mark.parametrize("cell", ["rnn_relu", "gru"])
def test_stepper_equals_the_sequence_path(cell):
    """The batch-1 stepper's prepared weights (relu as is; GRU's n doubled, b_hr, b_hz
    folded) give the sequence path's logits and state (lstm, gru, rnn: test_sampling.py)."""
    from seqlm.config import LMConfig
    from seqlm.nn.lm import RecurrentLM
    torch.manual_seed(0)
    model = RecurrentLM(11, LMConfig(cell=cell, embedding_dim=8, hidden_size=16, num_layers=2,
                                     dropout=0.0)).eval()
    idx = torch.randint(0, 11, (3, 6))
    with torch.inference_mode():
        full, _, final = model(idx)
        stepper, state = model.stepper(), None
        for t in range(6):
            logits, state = stepper(idx[:, t], state)
            torch.testing.assert_close(logits, full[:, t], rtol=1e-5, atol=1e-5)
    for a, b in zip(state, final, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
