"""Sampling and beam search invariants on a small random model and on random logits."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlm.config import LMConfig, SampleConfig
from seqlm.data.vocab import Vocab
from seqlm.decoding.lm_text import decode_samples, encode_prime
from seqlm.decoding.sampling import (
    NEVER,
    SamplingRule,
    apply_repetition_penalty,
    choose,
    generate,
    softmax,
    top_k_filter,
    top_p_filter,
)
from seqlm.decoding.steppings_torch import lm_beam_search as beam_search
from seqlm.errors import SeqlmError
from seqlm.nn.lm import RecurrentLM


@pytest.fixture(scope="module", params=["lstm", "gru", "rnn"])
def model(request):
    torch.manual_seed(0)
    m = RecurrentLM(30, LMConfig(cell=request.param, embedding_dim=8, hidden_size=16,
                                 num_layers=2, dropout=0.0))
    with torch.no_grad():
        m.proj.weight.mul_(8)  # sharper distributions make the checks meaningful
    return m.eval()


def greedy(model, prime, length):
    return generate(model, prime, length, SamplingRule(temperature=0.0))


def test_step_path_equals_the_sequence_path(model):
    idx = torch.randint(4, 30, (2, 7))
    with torch.no_grad():
        logits, _, final = model(idx)
        state = None
        for t in range(7):
            step_logits, state = model.step(idx[:, t], state)
            torch.testing.assert_close(step_logits, logits[:, t], rtol=1e-5, atol=1e-5)
    for a, b in zip(state, final, strict=True):  # the state is always a tuple
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_stepper_equals_the_sequence_path(model):
    idx = torch.randint(4, 30, (2, 7))
    with torch.inference_mode():
        logits, _, final = model(idx[:, :4])
        stepper = model.stepper()  # the model's own fast step: decoding asks for nothing else
        states = final
        full, _, full_final = model(idx)
        for t in range(4, 7):
            step_logits, states = stepper(idx[:, t], states)
            torch.testing.assert_close(step_logits, full[:, t], rtol=1e-5, atol=1e-5)
    for a, b in zip(states, full_final, strict=True):  # one state type: a tuple
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_temperature_to_zero_equals_greedy(model):
    cold = generate(model, [5, 6], 40, SamplingRule(temperature=1e-4), seed=3)
    assert cold == greedy(model, [5, 6], 40)


def test_beam_width_one_equals_greedy(model):
    hyp = beam_search(model, [5, 6], 40, width=1, eos_id=None)[0]
    assert hyp.tokens == greedy(model, [5, 6], 40)


def test_beam_finds_at_least_the_greedy_logprob(model):
    g = beam_search(model, [5], 12, width=1, eos_id=None)[0]
    b = beam_search(model, [5], 12, width=6, eos_id=None, alpha=0.0)[0]
    assert b.logprob_nats >= g.logprob_nats - 1e-6
    assert len(b.tokens) == 12


def test_seed_makes_samples_reproducible(model):
    rule = SamplingRule(temperature=1.0)
    assert generate(model, [5], 30, rule, seed=1) == generate(model, [5], 30, rule, seed=1)
    assert generate(model, [5], 30, rule, seed=1) != generate(model, [5], 30, rule, seed=2)


def test_specials_are_never_generated(model):
    out = generate(model, [5], 300, SamplingRule(temperature=3.0), seed=0)
    assert not set(out) & set(NEVER)


logits_strategy = st.lists(st.floats(-10, 10), min_size=6, max_size=40).map(torch.tensor)
# the rule is NumPy (every seqlm LM samples through it): its outputs are read back as tensors
as_tensor = torch.as_tensor


@settings(max_examples=60, deadline=None)
@given(logits=logits_strategy, k=st.integers(1, 8), seed=st.integers(0, 1000))
def test_top_k_never_emits_outside_the_k_best(logits, k, seed):
    logits[list(NEVER)] = -100.0
    allowed = set(torch.topk(logits, min(k, len(logits))).indices.tolist())
    kept = torch.isfinite(as_tensor(top_k_filter(logits, k))).nonzero().flatten().tolist()
    assert set(kept) <= allowed | {i for i in range(len(logits)) if logits[i] ==
                                   torch.topk(logits, min(k, len(logits))).values[-1]}
    g = np.random.default_rng(seed)
    token = choose(logits, SamplingRule(top_k=k), [], g)
    kth = torch.topk(logits, min(k, len(logits))).values[-1]
    assert logits[token] >= kth


@settings(max_examples=60, deadline=None)
@given(logits=logits_strategy, p=st.floats(0.05, 0.99))
def test_top_p_keeps_the_smallest_set_reaching_p(logits, p):
    probs = torch.softmax(logits.double(), -1)
    kept = torch.isfinite(as_tensor(top_p_filter(logits, p)))
    mass = probs[kept].sum().item()
    assert mass >= p - 1e-6  # reaches p
    # smallest: dropping the least probable kept token falls below p
    least = probs[kept].min().item()
    assert mass - least < p + 1e-6
    # the kept tokens are the most probable ones
    if (~kept).any():
        assert probs[kept].min() >= probs[~kept].max() - 1e-12


def rule_as_first_written(logits, rule: SamplingRule, seen, rng) -> int:
    """`choose` before its draw went in place (issue 28), kept as the oracle: a fixed seed
    must give the same samples as it always did."""
    logits = np.asarray(logits).astype(np.float64)
    logits[list(rule.banned)] = -np.inf
    if rule.repetition_penalty != 1.0:
        logits = apply_repetition_penalty(logits, seen, rule.repetition_penalty)
    if rule.temperature == 0:
        return int(np.argmax(logits))
    logits = logits / rule.temperature
    if rule.top_k is not None:
        logits = top_k_filter(logits, rule.top_k)
    if rule.top_p is not None:
        logits = top_p_filter(logits, rule.top_p)
    cdf = np.cumsum(softmax(logits))
    return int(min(np.searchsorted(cdf, rng.random() * cdf[-1], side="right"), cdf.size - 1))


@pytest.mark.parametrize("rule", [SamplingRule(), SamplingRule(0.8), SamplingRule(1.3, top_k=5),
                                  SamplingRule(0.7, top_p=0.9, repetition_penalty=1.3),
                                  SamplingRule(0.0)])
def test_choose_draws_what_the_rule_first_written_draws(rule):
    data = np.random.default_rng(7)
    ours, oracle = np.random.default_rng(1), np.random.default_rng(1)
    for _ in range(2000):
        size = int(data.integers(5, 300))
        logits = (data.standard_normal(size) * data.uniform(0.1, 20)).astype(np.float32)
        seen = data.integers(0, size, int(data.integers(1, 20))).tolist()
        assert choose(logits, rule, seen, ours) == rule_as_first_written(logits, rule, seen,
                                                                         oracle)
    assert ours.random() == oracle.random()  # both drew as many numbers


def test_repetition_penalty_lowers_seen_tokens():
    logits = torch.tensor([2.0, -1.0, 0.5, 3.0])
    out = as_tensor(apply_repetition_penalty(logits, torch.tensor([0, 1, 1]), 2.0))
    assert out.tolist() == [1.0, -2.0, 0.5, 3.0]


def test_prime_outside_the_vocabulary_is_refused():
    vocab = Vocab(list("abc \n"))
    assert encode_prime("ab c", vocab, "char") == [4, 5, 7, 6]
    with pytest.raises(SeqlmError, match=r"outside the model's vocabulary: 'x', 'é'"):
        encode_prime("axbé", vocab, "char")


def test_decode_samples_several_temperatures(model):
    vocab = Vocab([chr(ord("a") + i) for i in range(26)])
    out = decode_samples(model, vocab, "char", SampleConfig(prime="ab", length=10,
                                                            temperatures=(0.5, 0.8, 1.2)))
    assert [s["temperature"] for s in out] == [0.5, 0.8, 1.2]
    assert all(len(s["text"]) == 10 for s in out)
    with pytest.raises(SeqlmError, match="top_p"):  # refused where the config is made
        decode_samples(model, vocab, "char", SampleConfig(prime="a", top_p=1.5))


def test_word_continuations_join_the_prime_with_a_space():
    from seqlm.decoding.lm_text import join_prime

    assert join_prime("i work", "you work", "word") == "i work you work"
    assert join_prime("i work\n", "you work", "word") == "i work\nyou work"
    assert join_prime("ROM", "EO:", "char") == "ROMEO:"
    assert join_prime("", "he works", "word") == "he works"
