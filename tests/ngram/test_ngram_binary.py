"""The binary model: scores equal to the ARPA model's, quantised scores within the stated
bound, a vocabulary found by hash, and `seqlm ngram build | eval --binary` end to end."""

import warnings

import numpy as np
import pytest

from conftest import run_cli_json
from seqlm.config import NgramConfig
from seqlm.errors import SeqlmError
from seqlm.ngram import fit, read_arpa, write_arpa
from seqlm.ngram.binary import load_binary, write_binary
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.tables import BackoffTables
from seqlm.ngram.vocab_hash import token_keys

TRAIN = "".join(f"the {a} {v} the {b} .\n" for a, v, b in [
    ("cat", "sees", "dog"), ("dog", "sees", "cat"), ("cat", "eats", "fish"),
    ("bird", "sees", "fish"), ("dog", "eats", "bone"), ("cat", "sees", "bird"),
    ("cow", "eats", "grass"), ("owl", "sees", "mouse")] * 3) + "naïve café\n"
TEST = "the cat sees the fish .\nthe cow eats the bone .\n\nthe dog sees a zebra\nnaïve\n"


def trained(order=3, unit="word", precision="double"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        return fit(TRAIN, NgramConfig(order=order, unit=unit, precision=precision))


def token_nats(model, text):
    return [t.nats for line in text.split("\n") for t in model.token_scores(line)]


@pytest.mark.parametrize("order,unit", [(3, "word"), (1, "word"), (5, "char"), (2, "byte")])
def test_binary_scores_equal_the_arpa_models(tmp_path, order, unit):
    model = trained(order, unit)
    arpa = read_arpa(write_arpa(model, tmp_path / "m.arpa"), precision="kenlm")
    binary = load_binary(write_binary(BackoffTables.of_model(model), tmp_path / "m.bin"))
    assert token_nats(binary, TEST) == token_nats(arpa, TEST)
    assert binary.sizes() == arpa.sizes() and binary.unit == unit
    assert binary.vocab.tokens == arpa.vocab.tokens
    for context in (["<s>", "the"], ["the", "cat"], ["zebra"], []):
        assert np.array_equal(binary.distribution(context), arpa.distribution(context))
    assert binary.top_k(["<s>", "the"], 3) == arpa.top_k(["<s>", "the"], 3)


def test_a_kenlm_precision_model_keeps_its_numbers_and_sums(tmp_path):
    model = trained(4, precision="kenlm")
    binary = load_binary(write_binary(BackoffTables.of_model(model), tmp_path / "k.bin"))
    assert binary.precision == "kenlm"
    assert binary.perplexity(TEST).nll_nats == model.perplexity(TEST).nll_nats


def test_vocabulary_lookup_by_hash(tmp_path):
    model = trained(2)
    binary = load_binary(write_binary(BackoffTables.of_model(model), tmp_path / "m.bin"))
    words = ["the", "naïve", "zebra", "<unk>", "café", "<s>"]
    assert binary.vocab.ids(words).tolist() == model.vocab.ids(words).tolist()
    assert [binary.vocab.token(i) for i in range(len(binary.vocab))] == model.vocab.tokens
    assert len(set(token_keys(model.vocab.tokens).tolist())) == len(model.vocab)


def test_quantised_scores_stay_within_the_stated_bound(tmp_path):
    model = trained(3)
    arpa = read_arpa(write_arpa(model, tmp_path / "m.arpa"), precision="kenlm")
    path = write_binary(BackoffTables.of_model(arpa), tmp_path / "q.bin", 4, 4)
    quantized = load_binary(path)
    q = quantized.info["quantization"]
    bound_log10 = (max(t["max_error_log10"] for t in q["prob"])
                   + (quantized.order - 1) * max(t["max_error_log10"] for t in q["backoff"]))
    exact, approx = np.array(token_nats(arpa, TEST)), np.array(token_nats(quantized, TEST))
    assert np.all(np.abs(approx - exact) <= bound_log10 * np.log(10) + 1e-9)
    assert q["prob"][0]["bits"] == 4
    assert all(t.values.dtype == np.uint8 for t in quantized.logp + quantized.backoff)


def test_files_that_are_not_binary_models_are_named(tmp_path):
    (tmp_path / "x.bin").write_bytes(b"\\data\\\nngram 1=3\n")
    with pytest.raises(SeqlmError, match="is not a seqlm binary model.*seqlm ngram build"):
        load_binary(tmp_path / "x.bin")
    good = write_binary(BackoffTables.of_model(trained(2)), tmp_path / "m.bin")
    (tmp_path / "cut.bin").write_bytes(good.read_bytes()[:5000])
    with pytest.raises(SeqlmError, match="damaged binary model .cut short"):
        load_binary(tmp_path / "cut.bin")
    with pytest.raises(SeqlmError, match="does not exist"):
        load_binary(tmp_path / "none.bin")
    with pytest.raises(SeqlmError, match="2 to 16 bits"):
        write_binary(BackoffTables.of_model(trained(2)), tmp_path / "b.bin", prob_bits=20)


def test_build_then_eval_sample_predict_from_the_binary(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TRAIN * 2)
    arpa = tmp_path / "m.arpa"
    run_cli_json("ngram", "train", "--corpus", f"file:{corpus}", "--order", "3", "--unit", "word",
                 "--arpa", str(arpa), "--out", str(tmp_path / "t"))
    built = run_cli_json("ngram", "build", "--arpa", str(arpa), "--out", str(tmp_path / "m.bin"),
                         "--prob-bits", "8", "--backoff-bits", "8")
    assert built["counts"][0] > 10 and built["quantization"]["prob"][0]["bits"] == 8
    exact = run_cli_json("ngram", "build", "--arpa", str(arpa), "--out", str(tmp_path / "e.bin"))
    by_arpa = run_cli_json("ngram", "eval", "--arpa", str(arpa), "--kenlm-precision", "--corpus",
                           f"file:{corpus}", "--out", str(tmp_path / "ea"))
    by_binary = run_cli_json("ngram", "eval", "--binary", exact["binary"], "--corpus",
                             f"file:{corpus}", "--out", str(tmp_path / "eb"))
    assert by_binary["perplexity"] == by_arpa["perplexity"]
    sampled = run_cli_json("ngram", "sample", "--binary", exact["binary"], "--samples", "2",
                           "--temperature", "0", "--out", str(tmp_path / "s"))
    assert sampled["samples"][0] == sampled["samples"][1]  # greedy: the same sentence twice
    predicted = run_cli_json("ngram", "predict", "the cat", "--binary", exact["binary"],
                             "--top-k", "2", "--out", str(tmp_path / "p"))
    assert predicted["top_k"][0]["token"] in ("sees", "eats")
