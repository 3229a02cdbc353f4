"""Layer 0's input projection as a table (`seqlm.nn.fast.table`, `RecurrentLM.uses_table`):
the table path equals the dense path (logits, loss, final state and every gradient: the
embedding, W_ih and b_ih of layer 0, the rest, the initial state) for every fused cell, fp32
and bf16, eager and compiled kernels, with weight tying, T = 1 and an initial state; and the
rule keeps the dense path with dropout on the embedding in force, with a large vocabulary,
and for layers that cannot read a table. A spy on `forward_ids` tells which path ran."""

import pytest
import torch

from seqlm.config import LMConfig
from seqlm.nn import lm
from seqlm.nn.fast import kernels
from seqlm.nn.fast.gru import FusedGRU
from seqlm.nn.fast.lstm import FusedLSTM
from seqlm.nn.fast.rnn import FusedRNN
from seqlm.nn.fast.table import table_gradient, worth_a_table
from seqlm.nn.lm import RecurrentLM

V, H = 11, 16
# the existing tolerances. fp32: the same sums in another order, elementwise as in
# tests/nn/test_kernels.py. bf16: the table is made from the same bf16 operands and rounded as
# the dense product is, so the forward values (logits, loss, final state) agree elementwise to
# test_kernels.py's bf16 tolerance; the gradients round different sums to bf16 (the dense
# path every row's gradient, the table every token's summed gradient), so they are held to
# tests/nn/test_fused.py's bf16 tolerance, the relative (norm) error of bf16 products
# against fp32 (measured here, table against dense: 2.7e-3 to 3.4e-3, every cell).
TOLERANCE = {"fp32": 2e-5, "bf16": 1e-2}
BF16_GRADIENTS = {"lstm": 2e-2, "gru": 2e-2, "rnn": 2e-2, "rnn_relu": 2e-1}


def _spy(model) -> list:
    """Record each call of the model's table path (forward_ids)."""
    calls = []
    original = model.rnn.forward_ids
    model.rnn.forward_ids = lambda *a: calls.append(1) or original(*a)
    return calls


def _model(cell: str, kernels_: str, tie: bool, dropout: float = 0.0, **extra) -> RecurrentLM:
    torch.manual_seed(0)
    config = LMConfig(cell=cell, embedding_dim=H if tie else 24, hidden_size=H, num_layers=2,
                      dropout=dropout, tie_weights=tie, kernels=kernels_, **extra)
    return RecurrentLM(V, config)


def _run(model, idx, targets, state, precision):
    """Logits, loss, final state and every gradient of a loss touching all of them."""
    state = tuple(s.clone().requires_grad_() for s in state)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits, loss, final = model(idx, targets, state)
    total = loss + sum((f * torch.linspace(1, 2, f.numel()).view_as(f)).sum() for f in final)
    model.zero_grad(set_to_none=True)
    total.backward()
    grads = [p.grad for _, p in sorted(model.named_parameters())]
    return [logits.float(), loss, *final, *(s.grad for s in state), *grads]


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
@pytest.mark.parametrize("kernels_", ["eager", "compiled"])
@pytest.mark.parametrize("case", ["T=1, state, tied", "T=9, untied"])
@pytest.mark.parametrize("cell", ["rnn", "rnn_relu", "lstm", "gru"])
def test_table_path_equals_the_dense_path(monkeypatch, cell, case, kernels_, precision):
    if kernels_ == "compiled":
        kernels.load()  # built into the cache on this machine's first use
    steps, tie = (1, True) if case.startswith("T=1") else (9, False)
    model = _model(cell, kernels_, tie)
    calls = _spy(model)
    g = torch.Generator().manual_seed(1)
    idx = torch.randint(0, V, (5, steps), generator=g)
    targets = torch.randint(0, V, (5, steps), generator=g)
    state = tuple(torch.randn(2, 5, H, generator=g) if tie else torch.zeros(2, 5, H)
                  for _ in range(model.rnn.kind.state_size))
    monkeypatch.setattr(lm, "worth_a_table", lambda *a: True)
    got = _run(model, idx, targets, state, precision)
    assert calls == [1]  # the table path ran
    monkeypatch.setattr(lm, "worth_a_table", lambda *a: False)
    want = _run(model, idx, targets, state, precision)
    assert calls == [1]  # and the dense path did not read a table
    tol, values = TOLERANCE[precision], 2 + model.rnn.kind.state_size  # logits, loss, state
    for a, b in zip(got[:values], want[:values], strict=True):
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
    for a, b in zip(got[values:], want[values:], strict=True):  # every gradient
        if precision == "fp32":
            torch.testing.assert_close(a, b, rtol=tol, atol=tol)
        else:
            assert ((a - b).norm() / b.norm()).item() < BF16_GRADIENTS[cell]


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn_tanh", "rnn_relu"])
def test_the_fused_directions_read_a_table_with_a_float64_gradcheck(cell):
    steps, batch, hidden, vocab = 3, 2, 3, 4
    gates = {"lstm": 4, "gru": 3}.get(cell, 1)
    g = torch.Generator().manual_seed(0)
    ids = torch.tensor([[0, 2], [2, 3], [0, 0]])  # (T, B): rows read twice, row 1 never

    def rand(*shape):
        return torch.randn(*shape, generator=g, dtype=torch.float64).requires_grad_()

    table, h0, w_hh = rand(vocab, gates * hidden), rand(batch, hidden), rand(gates * hidden,
                                                                             hidden)
    assert ids.shape == (steps, batch)
    if cell == "lstm":
        args = (table, None, None, h0, rand(batch, hidden), w_hh, False, None, None, ids)
        apply = FusedLSTM.apply
    elif cell == "gru":
        args = (table, None, None, rand(3 * hidden), h0, w_hh, False, None, None, ids)
        apply = FusedGRU.apply
    else:
        args = (table, None, None, h0, w_hh, cell == "rnn_relu", False, None, None, ids)
        apply = FusedRNN.apply
    assert torch.autograd.gradcheck(lambda *a: apply(*a), args)


def test_the_table_gradient_sums_every_reading_of_a_row():
    d = torch.arange(12.0).view(4, 3)
    grad = table_gradient(d, torch.tensor([2, 0, 2, 2]), vocab=4)
    want = torch.stack([d[1], torch.zeros(3), d[0] + d[2] + d[3], torch.zeros(3)])
    assert torch.equal(grad, want)


def test_the_rule_weighs_the_table_against_the_dense_product():
    # the benchmark's shape (Tiny Shakespeare's 65 characters, B*T = 6400, E = 128): a table
    assert worth_a_table(65, 6400, 128)
    # a word vocabulary against the same batch: the table costs more than the product
    assert not worth_a_table(10_000, 6400, 128)
    # a narrow embedding: the gather and the scatter cost more than the product saves
    assert not worth_a_table(65, 6400, 4)


def test_a_large_vocabulary_keeps_the_dense_path():
    model = _model("lstm", "eager", tie=False)
    calls = _spy(model)
    small = torch.randint(0, V, (4, 100))
    assert model.uses_table(small)
    model(small)
    big = RecurrentLM(5000, model.config)
    big_calls = _spy(big)
    big(torch.randint(0, 5000, (4, 100)))
    assert (calls, big_calls) == ([1], [])


@pytest.mark.parametrize("locked", [False, True])
def test_dropout_on_the_embedding_keeps_the_dense_path_while_training(locked):
    model = _model("gru", "eager", tie=False, dropout=0.3, locked_dropout=locked)
    calls = _spy(model)
    idx = torch.randint(0, V, (4, 100))
    model.train()(idx)
    assert calls == []  # a mask per occurrence: no table
    model.eval()(idx)
    assert calls == [1]  # in eval mode dropout is off: the table


def test_layers_that_cannot_read_a_table_take_the_embedded_inputs():
    idx = torch.randint(0, V, (4, 10))  # the rule alone would pick the table
    for extra in ({"backend": "torch"}, {"recurrence": "newton"}, {"cell": "mingru"}):
        model = _model(extra.pop("cell", "lstm"), "eager", tie=False, **extra)
        assert worth_a_table(V, idx.numel(), model.config.embedding_dim)
        assert not model.uses_table(idx)
        model(idx)  # and runs
