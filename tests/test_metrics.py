import math

import pytest

from seqlm import metrics


def test_perplexity_of_known_cross_entropy():
    assert metrics.perplexity(2.3) == pytest.approx(9.974182, abs=1e-6)


def test_unit_conversions_round_trip_and_known_values():
    assert metrics.nats_to_bits(math.log(2)) == pytest.approx(1.0)
    assert metrics.nats_to_log10(math.log(10)) == pytest.approx(1.0)
    assert metrics.log10_to_nats(metrics.nats_to_log10(1.7)) == pytest.approx(1.7)
    assert metrics.bits_to_nats(metrics.nats_to_bits(0.3)) == pytest.approx(0.3)


def test_perplexity_from_log10_matches_kenlm_formula():
    # two tokens of probability 0.1 and 0.01: log10 sum -3, perplexity 10 ** 1.5
    assert metrics.perplexity_from_log10(-3.0, 2) == pytest.approx(10 ** 1.5)
    with pytest.raises(ValueError):
        metrics.perplexity_from_log10(-1.0, 0)


def test_bits_per_char_and_byte():
    total = 10 * math.log(2)  # 10 bits
    assert metrics.bits_per_char(total, 5) == pytest.approx(2.0)
    assert metrics.bits_per_byte(total, 20) == pytest.approx(0.5)


def test_accuracies():
    assert metrics.token_accuracy([1, 2, 3, 4], [1, 2, 0, 4]) == 0.75
    assert metrics.exact_match(["a", "b"], ["a", "c"]) == 0.5
    with pytest.raises(ValueError):
        metrics.token_accuracy([1], [1, 2])


def test_wilson_interval_contains_estimate_and_stays_in_range():
    low, high = metrics.wilson_interval(95, 100)
    assert low < 0.95 < high
    assert high <= 1.0
    assert metrics.wilson_interval(0, 10)[0] == 0.0
    assert metrics.wilson_interval(10, 10)[1] == pytest.approx(1.0)
    # textbook value: 50/100 -> about (0.404, 0.596)
    low, high = metrics.wilson_interval(50, 100)
    assert low == pytest.approx(0.4038, abs=1e-3) and high == pytest.approx(0.5962, abs=1e-3)


def test_mean_interval_is_the_student_t_interval():
    from seqlm.metrics import mean_interval

    assert mean_interval([3.0]) == (3.0, 3.0, 3.0)
    mean, low, high = mean_interval([1.0, 2.0, 3.0])  # sd 1, t_{0.975,2} = 4.303
    assert mean == 2.0 and high - mean == pytest.approx(4.303 / 3 ** 0.5)
    assert mean - low == pytest.approx(high - mean)
