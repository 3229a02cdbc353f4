"""The neuron finder recovers a planted unit; activations match the model's own layers."""

import numpy as np
import torch

from seqlm.config import LMConfig
from seqlm.lab.structure_activations import unit_activations
from seqlm.lab.structure_neurons import correlations, probe_r2, top_units
from seqlm.nn.lm import RecurrentLM


def planted(seed: int = 0):
    """Random units over a depth-like label, one of them (c2[17]) tracking it negatively."""
    rng = np.random.default_rng(seed)
    label = np.cumsum(rng.choice([-1, 1], size=3000))  # a random walk, like depth
    acts = {"h1": rng.normal(size=(3000, 32)), "c1": rng.normal(size=(3000, 32)),
            "h2": np.tanh(rng.normal(size=(3000, 32))), "c2": rng.normal(size=(3000, 32))}
    acts["c2"][:, 17] = -0.5 * (label - label.mean()) / label.std() + 0.3 * rng.normal(size=3000)
    acts["h1"][:, 3] = 0.0  # a dead unit
    return acts, label


def test_finder_recovers_the_planted_unit():
    acts, label = planted()
    best = top_units(acts, label, k=3)
    assert best[0].name == "c2[17]" and best[0].r < -0.8
    assert abs(best[1].r) < 0.15  # the rest is noise
    r = np.corrcoef(acts["c2"][:, 17], label)[0, 1]
    assert abs(best[0].r - r) < 1e-12


def test_correlations_equal_numpy_and_constants_give_zero():
    acts, label = planted(1)
    r = correlations(acts["h2"], label)
    assert np.allclose(r, [np.corrcoef(acts["h2"][:, u], label)[0, 1] for u in range(32)])
    assert correlations(acts["h1"], label)[3] == 0.0
    assert not correlations(acts["h1"], np.ones(3000)).any()


def test_probe_reads_a_label_spread_over_units_and_refuses_constant_labels():
    rng = np.random.default_rng(2)
    label = rng.normal(size=2000)
    mixing = rng.normal(size=(1, 40))
    acts = {"h1": label[:, None] * mixing + 1.5 * rng.normal(size=(2000, 40))}
    assert abs(top_units(acts, label, 1)[0].r) < 0.9  # no single unit holds it all ...
    assert probe_r2(acts, label) > 0.93  # ... the units together do
    assert probe_r2(acts, np.zeros(2000)) is None
    assert probe_r2({"h1": rng.normal(size=(2000, 40))}, label) < 0.1


def test_activations_are_the_model_states():
    for cell in ("rnn", "lstm", "gru"):
        torch.manual_seed(0)
        model = RecurrentLM(12, LMConfig(cell=cell, embedding_dim=5, hidden_size=7,
                                         num_layers=2, dropout=0.0)).eval()
        ids = np.random.default_rng(0).integers(0, 12, size=(3, 9))
        acts = unit_activations(model, ids)
        with torch.no_grad():
            out, state = model.rnn(model.embedding(torch.from_numpy(ids)))
        assert np.allclose(acts["h2"], out.numpy(), atol=1e-6)
        assert acts["h1"].shape == (3, 9, 7)
        if cell == "lstm":
            assert set(acts) == {"h1", "c1", "h2", "c2"}
            assert np.allclose(acts["c2"][:, -1], state[1][1].numpy(), atol=1e-6)
        assert unit_activations(model, ids[0])["h1"].shape == (9, 7)
