"""Learning, optimisers, clipping, sampling and save/load of the NumPy reference LM."""

import numpy as np
import pytest

from seqlm.config import ReferenceModelConfig, ReferenceTrainConfig
from seqlm.decoding.sampling import SamplingRule, generate
from seqlm.errors import SeqlmError
from seqlm.reference.cells import CELLS
from seqlm.reference.clipping import clip_global_norm, clip_value, global_norm
from seqlm.reference.lm import ReferenceLM
from seqlm.reference.optim import OPTIMIZERS, make_optimizer
from seqlm.reference.tbptt import evaluate, train
from seqlm.reference.weights import load_weights, save_weights


def tiny(cell="lstm", vocab=10, seed=0, dtype="float64"):
    return ReferenceLM(ReferenceModelConfig(cell=cell, vocab_size=vocab, embedding_dim=8,
                                            hidden_size=16, seed=seed, dtype=dtype))


@pytest.mark.parametrize("cell", CELLS)
def test_tiny_model_overfits_one_batch(cell):
    model = tiny(cell)
    rng = np.random.default_rng(0)
    idx, targets = rng.integers(0, 10, (4, 8)), rng.integers(0, 10, (4, 8))
    optimizer = make_optimizer("adam", 0.03)
    first = None
    for _ in range(300):
        loss, grads, _ = model.loss_and_grads(idx, targets)
        first = loss if first is None else first
        optimizer.step(model.params(), grads)
    assert first > 2.0  # about log(10) at initialisation
    assert model.forward(idx, targets)[1] < 0.05


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_lowers_the_loss_on_a_repeating_stream(name):
    ids = np.tile(np.arange(4, 10), 60)  # 4 5 6 7 8 9 4 5 ...: each token predicts the next
    model = tiny("rnn")
    before = evaluate(model, ids, batch_size=4, window=10)
    lr = {"sgd": 0.5, "adagrad": 0.1, "adam": 0.01}[name]
    result = train(model, ids, ReferenceTrainConfig(batch_size=4, window=10, optimizer=name,
                                                    lr=lr, steps=60, seed=0))
    after = evaluate(model, ids, batch_size=4, window=10)
    assert result.steps == 60 and result.tokens > 50 * 40  # the last window is shorter
    assert after < 0.5 * before


def test_float32_training_works_too():
    ids = np.tile(np.arange(4, 10), 60)
    model = tiny("gru", dtype="float32")
    train(model, ids, ReferenceTrainConfig(batch_size=4, window=10, lr=0.02, steps=40))
    assert model.params()["head.weight"].dtype == np.float32
    assert evaluate(model, ids, 4, 10) < 0.5


def test_clipping_by_global_norm_keeps_direction_and_caps_length():
    grads = {"a": np.array([3.0, 0.0]), "b": np.array([[4.0]])}
    before = clip_global_norm(grads, 1.0)
    assert before == pytest.approx(5.0)
    assert global_norm(grads) == pytest.approx(1.0)
    np.testing.assert_allclose(grads["a"], [0.6, 0.0])
    small = {"a": np.array([0.1])}
    clip_global_norm(small, 1.0)
    np.testing.assert_array_equal(small["a"], [0.1])


def test_clipping_by_value_cuts_each_entry():
    grads = {"a": np.array([-7.0, 0.5, 9.0])}
    clip_value(grads, 5.0)
    np.testing.assert_array_equal(grads["a"], [-5.0, 0.5, 5.0])


def test_training_needs_a_budget_and_enough_data():
    model = tiny()
    with pytest.raises(SeqlmError, match="budget"):
        train(model, np.arange(100) % 10, ReferenceTrainConfig(steps=None, seconds=None))
    with pytest.raises(SeqlmError, match="too few"):
        train(model, np.arange(20) % 10, ReferenceTrainConfig(batch_size=4, window=10, steps=1))


def sample(model, prompt, length, temperature, seed=0):
    """The NumPy reference sampled through the one `generate` every seqlm LM uses."""
    return generate(model, prompt, length, SamplingRule(temperature, banned=()), seed=seed)


def test_sampling_is_seeded_and_temperature_sharpens():
    model = tiny("gru")
    a = sample(model, [4, 5], 30, temperature=1.0, seed=7)
    assert a == sample(model, [4, 5], 30, temperature=1.0, seed=7)
    assert len(a) == 30 and all(0 <= t < 10 for t in a)
    ids = np.tile(np.arange(4, 10), 60)
    train(model, ids, ReferenceTrainConfig(batch_size=4, window=10, lr=0.02, steps=80))
    cold = sample(model, [4, 5], 12, temperature=0.05, seed=1)
    assert cold == [6, 7, 8, 9, 4, 5] * 2  # cold sampling follows the learnt cycle
    hot = sample(model, [4, 5], 200, temperature=5.0, seed=1)
    assert len(set(hot)) > 6  # a flat distribution also draws tokens the cycle never uses
    assert sample(model, [4, 5], 12, temperature=0.0) == cold  # 0 is greedy, the limit
    with pytest.raises(ValueError, match="prime"):
        sample(model, [], 3, temperature=1.0)


def test_save_and_load_round_trip(tmp_path):
    model = tiny("lstm", seed=3)
    path = save_weights(tmp_path / "m.npz", model, {"vocab": ["a", "b"]})
    loaded, meta = load_weights(path)
    assert meta["vocab"] == ["a", "b"] and loaded.config == model.config
    for name, value in model.params().items():
        np.testing.assert_array_equal(loaded.params()[name], value)
    idx = np.array([[1, 2, 3]])
    np.testing.assert_array_equal(loaded.forward(idx)[0], model.forward(idx)[0])
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file


def test_loading_a_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(SeqlmError, match="does not exist"):
        load_weights(tmp_path / "none.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(SeqlmError, match="not a seqlm reference model"):
        load_weights(tmp_path / "other.npz")
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(SeqlmError, match="not a NumPy"):
        load_weights(tmp_path / "junk.npz")


def test_a_short_char_run_on_tiny_shakespeare_beats_the_unigram_baseline(shakespeare_dir):
    from seqlm.config import CorpusConfig
    from seqlm.data.corpora import load_corpus
    from seqlm.data.vocab import Vocab

    corpus = load_corpus(CorpusConfig(name="tinyshakespeare", data_dir=str(shakespeare_dir)))
    train_text, valid_text = corpus.text("train")[:60_000], corpus.text("valid")[:10_000]
    vocab = Vocab.build(train_text)
    train_ids, valid_ids = vocab.encode(train_text), vocab.encode(valid_text)
    counts = np.bincount(train_ids, minlength=len(vocab)) + 1.0  # add-one unigram
    unigram_nats = float(-np.log(counts[valid_ids] / counts.sum()).mean())
    model = ReferenceLM(ReferenceModelConfig(cell="lstm", vocab_size=len(vocab), embedding_dim=16,
                                             hidden_size=32, dtype="float32", seed=0))
    train(model, train_ids, ReferenceTrainConfig(batch_size=16, window=32, lr=1e-2, steps=100))
    valid_nats = evaluate(model, valid_ids, batch_size=8, window=64)
    assert valid_nats < unigram_nats - 0.5, (valid_nats, unigram_nats)  # 2.59 vs 3.39 nats
