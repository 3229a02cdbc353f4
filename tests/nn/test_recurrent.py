"""seqlm.nn recurrent layers equal torch.nn.RNN/LSTM/GRU with copied weights (outputs, final
states, every gradient), and `lengths` equals running each row alone, unpadded."""

import pytest
import torch

from conftest import backward_node_names
from seqlm.nn.recurrent import GRU, LSTM, RNN, locked_dropout, reverse_padded

TOL = dict(rtol=1e-5, atol=1e-5)
E, H = 5, 6

KINDS = {
    "lstm": (LSTM, torch.nn.LSTM, {}),
    "gru": (GRU, torch.nn.GRU, {}),
    "rnn_tanh": (RNN, torch.nn.RNN, {}),
    "rnn_relu": (RNN, torch.nn.RNN, {"nonlinearity": "relu"}),
}


def _pair(kind, **kwargs):
    ours_cls, theirs_cls, extra = KINDS[kind]
    torch.manual_seed(0)
    theirs = theirs_cls(E, H, batch_first=True, **extra, **kwargs)
    ours = ours_cls(E, H, batch_first=True, **extra, **kwargs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    ours.load_state_dict(theirs.state_dict())
    return ours, theirs


def _state(kind, layers_x_dirs, batch, g):
    h = torch.randn(layers_x_dirs, batch, H, generator=g)
    if kind == "lstm":
        return h, torch.randn(layers_x_dirs, batch, H, generator=g)
    return h


def _as_tuple(state):
    return tuple(state) if isinstance(state, tuple) else (state,)


def _run(module, x, state, lengths=None):
    """Forward + backward of a loss touching every output; returns (tensors, grads)."""
    x = x.clone().requires_grad_()
    leaves = [s.clone().requires_grad_() for s in _as_tuple(state)] if state is not None else []
    s_in = None if state is None else (tuple(leaves) if len(leaves) == 2 else leaves[0])
    out, final = module(x, s_in) if lengths is None else module(x, s_in, lengths=lengths)
    finals = _as_tuple(final)
    loss = (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum()
    loss = loss + sum((f * torch.linspace(1, 2, f.numel()).view_as(f)).sum() for f in finals)
    loss.backward()
    grads = [x.grad] + [p.grad for p in module.parameters()] + [s.grad for s in leaves]
    return [out, *finals], grads


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("layers,bidirectional,with_state", [
    (1, False, False), (2, False, True), (2, True, True), (1, True, False)])
def test_layer_matches_torch(kind, layers, bidirectional, with_state):
    ours, theirs = _pair(kind, num_layers=layers, bidirectional=bidirectional)
    g = torch.Generator().manual_seed(2)
    x = torch.randn(3, 8, E, generator=g)
    state = _state(kind, layers * (2 if bidirectional else 1), 3, g) if with_state else None
    our_out, our_grads = _run(ours, x, state)
    their_out, their_grads = _run(theirs, x, state)
    for a, b in zip(our_out + our_grads, their_out + their_grads, strict=True):
        torch.testing.assert_close(a, b, **TOL)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_time_major_and_no_bias(kind):
    ours_cls, theirs_cls, _ = KINDS[kind]
    torch.manual_seed(0)
    theirs = theirs_cls(E, H, num_layers=2, bias=False, batch_first=False)
    ours = ours_cls(E, H, num_layers=2, bias=False, batch_first=False)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 2, E)  # (T, B, E)
    our_out, our_grads = _run(ours, x, None)
    their_out, their_grads = _run(theirs, x, None)
    for a, b in zip(our_out + our_grads, their_out + their_grads, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_weights_copy_back_to_torch():
    ours = LSTM(E, H, num_layers=2, bidirectional=True, batch_first=True)
    theirs = torch.nn.LSTM(E, H, num_layers=2, bidirectional=True, batch_first=True)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 4, E)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], **TOL)


def test_dropout_between_layers_is_off_in_eval():
    ours, theirs = _pair("lstm", num_layers=2, dropout=0.5)
    ours.eval()
    theirs.eval()
    x = torch.randn(2, 5, E)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], **TOL)
    ours.train()
    assert not torch.allclose(ours(x)[0], theirs(x)[0])


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lengths_equal_running_each_row_alone(kind, bidirectional):
    ours, _ = _pair(kind, num_layers=2, bidirectional=bidirectional)
    g = torch.Generator().manual_seed(3)
    lengths = torch.tensor([6, 2, 4, 1])
    x = torch.randn(4, 6, E, generator=g)
    x = x * (torch.arange(6)[None, :, None] < lengths[:, None, None])  # zero padding
    directions = 2 if bidirectional else 1
    state = _state(kind, 2 * directions, 4, g)
    out, final = ours(x, state, lengths=lengths)
    finals = _as_tuple(final)
    assert (out[1, 2:] == 0).all() and (out[3, 1:] == 0).all()
    for b, n in enumerate(lengths.tolist()):
        row_state = tuple(s[:, b : b + 1] for s in _as_tuple(state))
        row_out, row_final = ours(x[b : b + 1, :n], row_state if kind == "lstm" else row_state[0])
        torch.testing.assert_close(out[b : b + 1, :n], row_out, **TOL)
        for f, rf in zip(finals, _as_tuple(row_final), strict=True):
            torch.testing.assert_close(f[:, b : b + 1], rf, **TOL)


def test_lengths_gradients_equal_unpadded():
    ours, _ = _pair("lstm", bidirectional=True)
    x = torch.randn(2, 5, E)
    lengths = torch.tensor([5, 3])
    xp = x.clone().requires_grad_()
    out, (h, _) = ours(xp, lengths=lengths)
    (out.sum() + h.sum()).backward()
    xr = x[1:2, :3].clone().requires_grad_()
    out_r, (h_r, _) = ours(xr)
    (out_r.sum() + h_r.sum()).backward()
    torch.testing.assert_close(xp.grad[1, :3], xr.grad[0], **TOL)
    assert (xp.grad[1, 3:] == 0).all()


def test_reverse_padded_is_an_involution():
    x = torch.arange(10.0).view(2, 5, 1)
    lengths = torch.tensor([5, 3])
    r = reverse_padded(x, lengths)
    assert r[:, :, 0].tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    assert torch.equal(reverse_padded(r, lengths), x)


def test_locked_dropout_shares_mask_over_time():
    torch.manual_seed(0)
    y = locked_dropout(torch.ones(3, 9, 4), 0.5, training=True)
    assert (y == y[:, :1]).all()  # the same mask at every step
    assert set(y.unique().tolist()) <= {0.0, 2.0}
    assert torch.equal(locked_dropout(torch.ones(3, 9, 4), 0.5, training=False),
                       torch.ones(3, 9, 4))


@pytest.mark.parametrize("layer", [GRU(E, H, fused=False, batch_first=True),
                                   LSTM(E, H, fused=False, batch_first=True),
                                   RNN(E, H, fused=False, batch_first=True)],
                         ids=["gru-steps", "lstm-steps", "rnn-steps"])
def test_backward_graph_uses_unbind_not_per_step_slicing(layer):
    """No per-step select/slice of the time axis: those make backward O(T^2) in memory."""
    out, _ = layer(torch.randn(2, 30, E, requires_grad=True))
    names = backward_node_names(out.grad_fn)
    assert names.count("UnbindBackward0") == 1
    assert not any(n.startswith("SelectBackward") for n in names)


def test_bad_state_shape():
    layer = GRU(E, H, num_layers=2, batch_first=True)
    with pytest.raises(ValueError, match="initial state"):
        layer(torch.randn(2, 3, E), torch.zeros(1, 2, H))


def test_fused_lstm_equals_the_step_path():
    torch.manual_seed(0)
    fused = LSTM(E, H, num_layers=2, bidirectional=True, batch_first=True)
    steps = LSTM(E, H, num_layers=2, bidirectional=True, fused=False, batch_first=True)
    steps.load_state_dict(fused.state_dict())
    g = torch.Generator().manual_seed(5)
    x = torch.randn(3, 9, E, generator=g)
    state = _state("lstm", 4, 3, g)
    a_out, a_grads = _run(fused, x, state)
    b_out, b_grads = _run(steps, x, state)
    for a, b in zip(a_out + a_grads, b_out + b_grads, strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_fused_lstm_gradcheck_in_double():
    from seqlm.nn.fast.lstm import FusedLSTM
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
            for shape in ((4, 2, 5), (12, 5), (12,), (2, 3), (2, 3), (12, 3))]
    assert torch.autograd.gradcheck(lambda *a: FusedLSTM.apply(*a), args)
    no_bias = args[:2] + [None] + args[3:]
    assert torch.autograd.gradcheck(lambda *a: FusedLSTM.apply(*a), no_bias)


def test_fused_lstm_single_backward_refuses_a_second_walk():
    from seqlm.nn.fast.lstm import FusedLSTM
    g = torch.Generator().manual_seed(0)
    args = [torch.randn(*shape, generator=g, requires_grad=True)
            for shape in ((4, 2, 5), (12, 5), (12,), (2, 3), (2, 3), (12, 3))]
    out, _, _ = FusedLSTM.apply(*args, True)
    out.sum().backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="fused=False"):
        out.sum().backward()


def test_layers_mirror_torchs_default_layout_and_name_a_wrong_width():
    """batch_first is False by default, as in torch.nn.LSTM: the same call, the same result."""
    torch.manual_seed(0)
    theirs = torch.nn.LSTM(E, H)
    ours = LSTM(E, H)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 3, E)  # (T, B, E), torch's default layout
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match=f"built for inputs of width {E}, got {E + 1}"):
        ours(torch.randn(7, 3, E + 1))
