"""Long-range agreement by distance: the test items, the scoring read at the verb's position,
the pooled gap beyond distance 20, and the command end to end at a tiny budget."""

import json

import pytest
import torch
from torch import nn

from conftest import run_cli
from seqlm.config import AgreementConfig, merge
from seqlm.data.vocab import Vocab
from seqlm.errors import ConfigError
from seqlm.lab.agreement import (
    agreement_items,
    beyond,
    bucket_ranges,
    run_agreement,
    score_items,
    training_lines,
)


def test_buckets_and_items_cover_each_distance_evenly():
    config = AgreementConfig(examples=10, buckets=(5, 20, 50, 70))
    assert bucket_ranges(config) == [(1, 5), (6, 20), (21, 50), (51, 70)]
    items = agreement_items(config, 6, 20)
    assert len(items) == 10 and all(6 <= x.distance <= 20 for x in items)
    far = agreement_items(AgreementConfig(examples=40), 51, 70)
    counts = {d: sum(x.distance == d for x in far) for d in range(51, 71)}
    assert set(counts.values()) == {2}  # 40 items over 20 distances: two each
    assert [x.tokens for x in far] == [x.tokens for x in agreement_items(AgreementConfig(
        examples=40), 51, 70)]  # deterministic
    with pytest.raises(ConfigError, match="increasing"):
        AgreementConfig(buckets=(20, 5))
    with pytest.raises(ConfigError, match="max_distance"):
        AgreementConfig(buckets=(5, 90), max_distance=70)


def test_the_agreement_share_adds_sentences_at_every_distance():
    small = {"sentences": 200, "max_distance": 10, "buckets": (5, 10)}
    plain = training_lines(AgreementConfig(**small))
    mixed = training_lines(AgreementConfig(**small, agreement_share=0.5))
    assert len(plain) == len(mixed) == 200
    assert mixed == training_lines(AgreementConfig(**small, agreement_share=0.5))
    assert sorted(plain) != sorted(mixed)
    assert sum(" that " in line or " with " in line for line in mixed) > \
        sum(" that " in line or " with " in line for line in plain)


class Fixed(nn.Module):
    """A stand-in LM whose logits are given: `forward(idx) -> (logits, None, None)`."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = nn.Parameter(logits, requires_grad=False)

    def forward(self, idx, targets=None, state=None):
        return self.logits[:, :idx.shape[1]], None, None


def vocab_and_items():
    items = agreement_items(AgreementConfig(examples=6), 1, 5)
    words = sorted({t for x in items for t in (*x.tokens, x.wrong)})
    return Vocab(words), items


def test_scoring_reads_the_verb_position_only():
    vocab, items = vocab_and_items()
    length = max(len(x.prefix) for x in items) + 1  # </s> prefix
    logits = torch.zeros(len(items), length, len(vocab))
    for row, x in enumerate(items):
        logits[row, :, vocab.stoi[x.wrong]] = 5.0  # everywhere the wrong form is preferred ...
        logits[row, len(x.prefix), vocab.stoi[x.wrong]] = 0.0  # ... but at the verb's slot
        logits[row, len(x.prefix), vocab.stoi[x.correct]] = 3.0
    scored = score_items(Fixed(logits), vocab, items)
    assert scored["accuracy"] == 1.0 and scored["items"] == len(items)
    uniform = score_items(Fixed(torch.zeros(len(items), length, len(vocab))), vocab, items)
    assert uniform["accuracy"] == 0.0  # a tie is not a hit
    assert uniform["verb_perplexity"] == pytest.approx(len(vocab), rel=1e-5)
    low, high = uniform["interval"]
    assert low == 0.0 and 0 < high < 0.5


def test_items_whose_forms_are_unknown_are_left_out_and_counted():
    vocab, items = vocab_and_items()
    smaller = Vocab([w for w in vocab.itos[4:] if w != items[0].wrong])
    length = max(len(x.prefix) for x in items) + 1
    scored = score_items(Fixed(torch.zeros(len(items), length, len(smaller))), smaller, items)
    gone = sum(items[0].wrong in (x.correct, x.wrong) for x in items)
    assert scored["left_out"] == gone and scored["items"] == len(items) - gone


def test_the_gap_beyond_20_pools_the_far_buckets():
    config = AgreementConfig()

    def cell(accuracies):
        return {"buckets": {name: {"items": 10, "accuracy": a} for name, a in
                            zip(["1-5", "6-20", "21-50", "51-70"], accuracies, strict=True)}}

    far = beyond(config, {"rnn": cell([1.0, 0.9, 0.5, 0.5]), "lstm": cell([1.0, 1.0, 0.8, 0.6])})
    assert far["buckets"] == ["21-50", "51-70"]
    assert far["pooled"]["rnn"]["accuracy"] == 0.5 and far["pooled"]["lstm"]["accuracy"] == 0.7
    assert far["gap_points_vs_rnn"] == {"lstm": 20.0}


@pytest.mark.slow
def test_agreement_runs_and_reports(tmp_path):
    config = merge(AgreementConfig(), {"sentences": 300, "examples": 4, "train": {
        "batch_size": 4, "window": 16, "engine": {"max_steps": 3},
        "model": {"hidden_size": 8, "embedding_dim": 8}}})
    run, section = run_agreement(config, out=tmp_path / "agr")
    manifest = json.loads((tmp_path / "agr" / "manifest.json").read_text())
    assert manifest["status"] == "ok"
    cells = manifest["metrics"]["cells"]
    assert set(cells) == {"rnn", "lstm", "gru"}
    assert all(c["steps"] == 3 and set(c["buckets"]) == {"1-5", "6-20", "21-50", "51-70"}
               for c in cells.values())
    params = [c["parameters"] for c in cells.values()]
    assert max(params) / min(params) < 1.1  # equal parameters
    assert "| LSTM |" in section.markdown and "At distance > 20" in section.markdown
    assert "seqlm compare --agreement --steps 3" in section.markdown


def test_agreement_options_without_agreement_are_refused(tmp_path):
    result = run_cli("compare", "--sentences", "100", cwd=tmp_path)
    assert result.returncode == 2
    assert "--sentences mean nothing for seqlm compare: drop them" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
