"""Samples from a code LM against an n-gram model of the same text: do brackets balance, is the
indentation consistent?

Karpathy (2015) showed char-RNN samples of Linux C and said the model "learns to balance
braces and indent"; here it is counted. Both models start after a newline and write
`sample_length` characters at the same temperature; every sample is checked by
`structure_balance.check` (brackets balance = no closer without or against its opener, open
brackets at the cut allowed; indentation consistent = Python's rule). The n-gram model is a
character model of `code_ngram_order` with modified Kneser-Ney, fitted on the first
`ngram_max_chars` characters of the same training split and sampled by
`seqlm.decoding.sentences`. Its lines would each be a sentence started from `<s>`, which cuts
every bracket and indentation dependency at the line end; so the text is given to it as one
sentence with each newline replaced by a stand-in character the text does not use, and
mapped back in its samples. Shares carry Wilson 95% intervals. Leaves out: other languages'
indentation rules (a C sample is checked by Python's), syntax beyond brackets and indentation.
"""

import warnings

from seqlm.config import NgramConfig, SampleConfig, StructureConfig
from seqlm.data.vocab import Vocab
from seqlm.decoding.lm_text import decode_samples
from seqlm.decoding.sentences import sample_sentences as sample
from seqlm.errors import SeqlmError
from seqlm.lab.structure_balance import check
from seqlm.metrics import wilson_interval
from seqlm.ngram.discounts import DiscountFallbackWarning
from seqlm.ngram.fit import fit
from seqlm.ngram.model import NgramModel

STAND_INS = "\x1e\x1f\x1d\x1c\x7f"  # newline stand-ins for the n-gram: control characters


def stand_in_for(text: str) -> str:
    """A character that `text` does not use, to carry its newlines through the n-gram."""
    for ch in STAND_INS:
        if ch not in text:
            return ch
    raise SeqlmError("the text uses every newline stand-in character (ASCII 28-31, 127): "
                     "strip control characters from it first")


def fit_code_ngram(text: str, config: StructureConfig) -> tuple[NgramModel, str]:
    """The n-gram of the module docstring, and its newline stand-in."""
    text = text[: config.ngram_max_chars]
    stand_in = stand_in_for(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DiscountFallbackWarning)
        model = fit(text.replace("\n", stand_in), NgramConfig(
            order=config.code_ngram_order, unit="char", smoothing="mkn"))
    return model, stand_in


def ngram_samples(model: NgramModel, stand_in: str, config: StructureConfig) -> list[str]:
    texts = sample(model, config.samples, config.train.seed, config.temperature,
                   max_tokens=config.sample_length, prefix=stand_in)
    return [t[len(stand_in):].replace(stand_in, "\n") for t in texts]


def lm_samples(model, vocab: Vocab, config: StructureConfig) -> list[str]:
    found = decode_samples(model, vocab, "char", SampleConfig(
        prime="\n", length=config.sample_length, temperatures=(config.temperature,),
        num_samples=config.samples, seed=config.train.seed))
    return [s["text"] for s in found]


def share(successes: int, n: int) -> dict:
    low, high = wilson_interval(successes, n)
    return {"count": successes, "of": n, "share": successes / n if n else None,
            "wilson95": [low, high]}


def sample_checks(texts: list[str]) -> dict:
    """How many samples balance their brackets, close them all, indent consistently."""
    checks = [check(t) for t in texts]
    n = len(checks)
    return {
        "brackets_balance": share(sum(c.brackets_balance for c in checks), n),
        "brackets_closed": share(sum(c.brackets == "balanced" for c in checks), n),
        "indentation_consistent": share(sum(c.indentation_consistent for c in checks), n),
        "both": share(sum(c.brackets_balance and c.indentation_consistent for c in checks), n),
        "bracket_status": {s: sum(c.brackets == s for c in checks)
                           for s in ("balanced", "open", "mismatched", "unopened")},
        "indentation_error_kinds": error_kinds(checks),
    }


def error_kinds(checks) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for c in checks:
        for _, kind in c.indentation_errors:
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def compare_samples(model, vocab: Vocab, train_text: str, config: StructureConfig) -> dict:
    """Both models' samples and their checks: {"lm": ..., "ngram": ...}."""
    ngram, stand_in = fit_code_ngram(train_text, config)
    out = {}
    for name, texts in (("lm", lm_samples(model, vocab, config)),
                        ("ngram", ngram_samples(ngram, stand_in, config))):
        out[name] = {**sample_checks(texts), "examples": texts[:2]}
    out["ngram"]["order"] = config.code_ngram_order
    out["ngram"]["fallback_orders"] = ngram.info.get("fallback_orders", [])
    out["ngram"]["train_chars"] = min(len(train_text), config.ngram_max_chars)
    return out
