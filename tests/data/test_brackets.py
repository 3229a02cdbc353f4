"""The Dyck generator: balanced strings that follow the stated distributions, and a held-out
split deeper and longer than training."""

from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlm.config import BracketsConfig, CorpusConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.corpora.brackets import PAIRS, completions, draw_shape, generate
from seqlm.errors import SeqlmError

# chi-square critical values at p = 0.001 (df 1..15), so a correct generator fails 1 in 1000
CHI2_999 = [10.83, 13.82, 16.27, 18.47, 20.52, 22.46, 24.32, 26.12, 27.88, 29.59, 31.26,
            32.91, 34.53, 36.12, 37.70]


def stack_check(s: str, pairs: str) -> int:
    """An oracle independent of the generator: the depth of a balanced string, else -1."""
    close = {pairs[i + 1]: pairs[i] for i in range(0, len(pairs), 2)}
    stack: list[str] = []
    deepest = 0
    for ch in s:
        if ch in close:
            if not stack or stack.pop() != close[ch]:
                return -1
        else:
            stack.append(ch)
            deepest = max(deepest, len(stack))
    return deepest if not stack else -1


def chi2_uniform(counts: Counter, values: range) -> float:
    expected = sum(counts.values()) / len(values)
    return sum((counts.get(v, 0) - expected) ** 2 / expected for v in values)


configs = st.builds(
    lambda k, lo, span, dlo, dspan, extra_pairs, extra_depth: BracketsConfig(
        types=k, min_pairs=lo, max_pairs=lo + span, min_depth=min(dlo, lo),
        max_depth=min(lo + span, max(min(dlo, lo), dlo + dspan)),
        heldout_max_pairs=lo + span + extra_pairs,
        heldout_max_depth=min(lo + span, max(min(dlo, lo), dlo + dspan)) + extra_depth),
    st.integers(1, 4), st.integers(1, 6), st.integers(0, 10), st.integers(1, 4),
    st.integers(0, 5), st.integers(1, 12), st.integers(1, 6))


@settings(max_examples=40, deadline=None)
@given(configs, st.integers(0, 10**6), st.booleans())
def test_strings_are_balanced_and_within_the_stated_bounds(config, seed, heldout):
    pairs = "".join(PAIRS[: config.types])
    if heldout:
        n_range = (config.max_pairs + 1, config.heldout_max_pairs)
        d_range = (config.max_depth + 1, config.heldout_max_depth)
    else:
        n_range = (config.min_pairs, config.max_pairs)
        d_range = (config.min_depth, config.max_depth)
    for s in generate(config, seed, 20, heldout=heldout):
        depth, n = stack_check(s, pairs), len(s) // 2
        assert depth > 0 and set(s) <= set(pairs), s
        assert n_range[0] <= n <= n_range[1]
        assert d_range[0] <= depth <= min(d_range[1], n)


def test_pairs_depth_and_types_follow_their_distributions():
    config = BracketsConfig(types=3, min_pairs=4, max_pairs=12, min_depth=1, max_depth=4)
    strings = generate(config, seed=7, n=4000)
    pairs = Counter(len(s) // 2 for s in strings)
    assert chi2_uniform(pairs, range(4, 13)) < CHI2_999[8]
    # depth is uniform on [1, min(4, n)]; here n >= 4 always, so on 1..4
    depths = Counter(stack_check(s, "()[]{}") for s in strings)
    assert chi2_uniform(depths, range(1, 5)) < CHI2_999[3]
    types = Counter(ch for s in strings for ch in s if ch in "([{")
    assert chi2_uniform(types, "([{") < CHI2_999[2]  # type: ignore[arg-type]


def test_shapes_are_uniform_among_paths_of_the_same_pairs_and_depth():
    import random

    # 4 pairs: C(4) = 14 paths; 1 of height 1, 2^3 = 8 of height <= 2, so 7 of height 2
    ways = completions(4, 2)
    assert ways[0][0][0] == 7
    assert [completions(4, d)[0][0][0] for d in (1, 2, 3, 4)] == [1, 7, 5, 1]
    rng = random.Random(0)
    shapes = Counter(tuple(draw_shape(rng, 4, 2, ways)) for _ in range(7000))
    assert len(shapes) == 7
    expected = 1000
    assert sum((c - expected) ** 2 / expected for c in shapes.values()) < CHI2_999[5]


def test_held_out_split_is_deeper_and_longer_than_training():
    corpus = load_corpus(CorpusConfig(name="brackets", size=2000))
    train = corpus.text("train").splitlines() + corpus.text("valid").splitlines()
    held = corpus.text("test").splitlines()
    assert len(held) == 200 and len(train) == 2000
    depth = [stack_check(s, "()[]") for s in train]
    held_depth = [stack_check(s, "()[]") for s in held]
    assert min(held_depth) > max(depth) and min(map(len, held)) > max(map(len, train))
    b = BracketsConfig()
    assert max(depth) <= b.max_depth < min(held_depth) <= max(held_depth) <= b.heldout_max_depth


def test_same_seed_same_corpus_and_bad_configs_are_refused():
    a = load_corpus(CorpusConfig(name="brackets", size=300, seed=1))
    assert a.sha256 == load_corpus(CorpusConfig(name="brackets", size=300, seed=1)).sha256
    assert a.sha256 != load_corpus(CorpusConfig(name="brackets", size=300, seed=2)).sha256
    for bad, needle in (({"types": 5}, "types = 5 is out of range"),
                        ({"max_depth": 20}, "max_depth = 20 exceeds max_pairs"),
                        ({"heldout_max_depth": 6}, "heldout_max_pairs"),
                        ({"min_depth": 2, "min_pairs": 1}, "min_depth = 2 exceeds")):
        with pytest.raises(SeqlmError, match=needle):  # refused where the config is made
            load_corpus(CorpusConfig(name="brackets", size=10, brackets=BracketsConfig(**bad)))
    assert replace(BracketsConfig(), types=4).types == 4


def test_brackets_settings_survive_the_json_round_trip_of_manifests_and_checkpoints():
    import json

    from seqlm.config import (
        QUICK_STRUCTURE,
        StructureConfig,
        TrainConfig,
        from_dict,
        merge,
        to_dict,
    )

    train = TrainConfig(corpus=CorpusConfig(name="brackets", brackets=BracketsConfig(types=3),
                                            include=("*.py",)))
    assert from_dict(TrainConfig, json.loads(json.dumps(to_dict(train)))) == train
    structure = merge(StructureConfig(), QUICK_STRUCTURE)
    assert from_dict(StructureConfig, json.loads(json.dumps(to_dict(structure)))) == structure
    old = to_dict(TrainConfig())  # a checkpoint written before these fields existed
    del old["corpus"]["brackets"], old["corpus"]["include"]
    assert from_dict(TrainConfig, old) == TrainConfig()
