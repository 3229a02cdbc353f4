"""seqlm.nn cells equal torch.nn cells with copied weights: outputs and every gradient."""

import pytest
import torch

from seqlm.nn.cells import GRUCell, LSTMCell, RNNCell

TOL = dict(rtol=1e-5, atol=1e-5)

CASES = [
    ("rnn_tanh", lambda: RNNCell(5, 7), lambda: torch.nn.RNNCell(5, 7)),
    ("rnn_relu", lambda: RNNCell(5, 7, nonlinearity="relu"),
     lambda: torch.nn.RNNCell(5, 7, nonlinearity="relu")),
    ("lstm", lambda: LSTMCell(5, 7), lambda: torch.nn.LSTMCell(5, 7)),
    ("gru", lambda: GRUCell(5, 7), lambda: torch.nn.GRUCell(5, 7)),
    ("lstm_nobias", lambda: LSTMCell(5, 7, bias=False),
     lambda: torch.nn.LSTMCell(5, 7, bias=False)),
    ("gru_nobias", lambda: GRUCell(5, 7, bias=False), lambda: torch.nn.GRUCell(5, 7, bias=False)),
]


def _pair(make_ours, make_theirs):
    torch.manual_seed(0)
    theirs = make_theirs()
    ours = make_ours()
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


@pytest.mark.parametrize("name,make_ours,make_theirs", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("with_state", [False, True])
def test_cell_matches_torch(name, make_ours, make_theirs, with_state):
    ours, theirs = _pair(make_ours, make_theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 5, generator=g)
    lstm = name.startswith("lstm")
    state = None
    if with_state:
        h, c = torch.randn(3, 7, generator=g), torch.randn(3, 7, generator=g)
        state = (h, c) if lstm else h
    results = []
    for module in (ours, theirs):
        xi = x.clone().requires_grad_()
        si = None
        if state is not None:
            si = tuple(s.clone().requires_grad_() for s in state) if lstm else \
                state.clone().requires_grad_()
        out = module(xi, si)
        outs = out if lstm else (out,)
        # a loss that weighs every output element differently, so every gradient is exercised
        loss = sum((o * torch.linspace(-1, 1, o.numel()).view_as(o)).sum() for o in outs)
        loss.backward()
        grads = [xi.grad] + [p.grad for p in module.parameters()]
        if si is not None:
            grads += [s.grad for s in (si if lstm else (si,))]
        results.append((outs, grads))
    (ours_out, ours_grads), (their_out, their_grads) = results
    for a, b in zip(ours_out, their_out, strict=True):
        torch.testing.assert_close(a, b, **TOL)
    for a, b in zip(ours_grads, their_grads, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_weights_copy_back_to_torch():
    ours = GRUCell(4, 6)
    theirs = torch.nn.GRUCell(4, 6)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 4)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


def test_init_matches_torch_bounds():
    cell = LSTMCell(10, 25)
    for p in cell.parameters():
        assert p.abs().max() <= 1 / 25 ** 0.5


def test_forget_bias_option():
    cell = LSTMCell(3, 4, forget_bias=1.0)
    total = cell.bias_ih + cell.bias_hh
    torch.testing.assert_close(total[4:8], torch.ones(4))


def test_bad_nonlinearity():
    with pytest.raises(ValueError, match="nonlinearity"):
        RNNCell(3, 4, nonlinearity="sigmoid")
