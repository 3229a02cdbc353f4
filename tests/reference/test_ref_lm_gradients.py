"""The language model's BPTT: finite differences (every parameter and initial state, one and
two layers, truncated windows) and torch autograd on the same weights, all in float64."""

import numpy as np
import pytest
import torch

from seqlm.config import ReferenceModelConfig
from seqlm.reference.cells import CELLS
from seqlm.reference.gradcheck import check_gradients, format_report
from seqlm.reference.lm import ReferenceLM

V, E, H, B, T = 7, 4, 5, 3, 6


def model_and_data(cell: str, layers: int, seed: int = 0):
    model = ReferenceLM(ReferenceModelConfig(cell=cell, vocab_size=V, embedding_dim=E,
                                             hidden_size=H, num_layers=layers, seed=seed))
    rng = np.random.default_rng(seed + 100)
    idx, targets = rng.integers(0, V, (B, T)), rng.integers(0, V, (B, T))
    state = [tuple(rng.normal(size=(B, H)) * 0.5 for _ in range(c.num_states))
             for c in model.cells]
    return model, idx, targets, state


def state_arrays(state, dstate):
    arrays, grads = {}, {}
    for layer, (s, d) in enumerate(zip(state, dstate, strict=True)):
        for j, (a, g) in enumerate(zip(s, d, strict=True)):
            arrays[f"state.{layer}.{'hc'[j]}"], grads[f"state.{layer}.{'hc'[j]}"] = a, g
    return arrays, grads


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_bptt_matches_finite_differences(cell, layers):
    model, idx, targets, state = model_and_data(cell, layers)
    _, _, _, cache = model.forward_cached(idx, targets, state)
    grads, dstate0, _ = model.backward(cache)
    s_arrays, s_grads = state_arrays(state, dstate0)
    checks = check_gradients(lambda: model.forward(idx, targets, state)[1],
                             {**model.params(), **s_arrays}, {**grads, **s_grads})
    assert len(checks) == len(model.params()) + sum(c.num_states for c in model.cells)
    assert all(c.passed(1e-6) for c in checks), format_report(checks)


@pytest.mark.parametrize("cell", CELLS)
def test_truncated_window_gradient_treats_carried_state_as_constant(cell):
    """Window 2 of truncated BPTT: its gradient is that of its own loss with the state from
    window 1 frozen, which differs from the full gradient through both windows."""
    model, idx, targets, _ = model_and_data(cell, 2, seed=3)
    _, _, carried = model.forward(idx[:, :3], targets[:, :3])  # window 1: values only
    loss2, grads, _ = model.loss_and_grads(idx[:, 3:], targets[:, 3:], carried)
    checks = check_gradients(lambda: model.forward(idx[:, 3:], targets[:, 3:], carried)[1],
                             model.params(), grads)
    assert all(c.passed(1e-6) for c in checks), format_report(checks)

    # the untruncated gradient of the same loss (window 2's positions, through both windows)
    weights = np.zeros((B, T))
    weights[:, 3:] = 1.0
    full_loss, full_grads, _ = model.loss_and_grads(idx, targets, weights=weights)
    assert full_loss == pytest.approx(loss2, abs=1e-12)
    w_ih = "layers.0.weight_ih"
    assert not np.allclose(full_grads[w_ih], grads[w_ih], atol=1e-6)


def test_carrying_the_state_across_windows_continues_the_sequence():
    model, idx, targets, _ = model_and_data("lstm", 2, seed=4)
    logits_full, _, state_full = model.forward(idx)
    first, _, carried = model.forward(idx[:, :2])
    second, _, state_split = model.forward(idx[:, 2:], state=carried)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), logits_full, atol=1e-12)
    for a, b in zip(state_full, state_split, strict=True):
        np.testing.assert_allclose(a[0], b[0], atol=1e-12)


TORCH_RNNS = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}


def torch_twin(model: ReferenceLM):
    """torch.nn Embedding + RNN/LSTM/GRU + Linear holding our weights."""
    cfg = model.config
    emb = torch.nn.Embedding(V, E).double()
    rnn = TORCH_RNNS[cfg.cell](E, H, num_layers=cfg.num_layers, batch_first=True).double()
    head = torch.nn.Linear(H, V).double()
    params = model.params()
    with torch.no_grad():
        emb.weight.copy_(torch.from_numpy(params["embedding.weight"]))
        head.weight.copy_(torch.from_numpy(params["head.weight"]))
        head.bias.copy_(torch.from_numpy(params["head.bias"]))
        for layer in range(cfg.num_layers):
            for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                getattr(rnn, f"{name}_l{layer}").copy_(
                    torch.from_numpy(params[f"layers.{layer}.{name}"]))
    return emb, rnn, head


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("cell", CELLS)
def test_loss_and_gradients_match_torch_autograd(cell, layers):
    model, idx, targets, state = model_and_data(cell, layers, seed=5)
    _, loss, _, cache = model.forward_cached(idx, targets, state)
    grads, dstate0, _ = model.backward(cache)

    emb, rnn, head = torch_twin(model)
    # torch wants (L, B, H) initial states; for the LSTM a pair (h0, c0)
    t_state = [torch.from_numpy(np.stack([s[j] for s in state])).requires_grad_()
               for j in range(len(state[0]))]
    out, _ = rnn(emb(torch.from_numpy(idx)), tuple(t_state) if cell == "lstm" else t_state[0])
    t_loss = torch.nn.functional.cross_entropy(head(out).reshape(B * T, V),
                                               torch.from_numpy(targets).reshape(B * T))
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), abs=1e-12)
    theirs = {"embedding.weight": emb.weight.grad, "head.weight": head.weight.grad,
              "head.bias": head.bias.grad}
    for layer in range(layers):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            theirs[f"layers.{layer}.{name}"] = getattr(rnn, f"{name}_l{layer}").grad
    assert set(theirs) == set(grads)
    for name, g in grads.items():
        np.testing.assert_allclose(g, theirs[name].numpy(), rtol=0, atol=1e-8, err_msg=name)
    for j, ts in enumerate(t_state):
        ours = np.stack([d[j] for d in dstate0])
        np.testing.assert_allclose(ours, ts.grad.numpy(), rtol=0, atol=1e-8)
