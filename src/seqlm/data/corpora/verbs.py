"""The built-in `verbs` corpus: generated English conjugation and agreement sentences.

One sentence per line, lower-case word tokens, punctuation as separate tokens, deterministic
for a seed (`random.Random(seed)`, no global RNG). The mix: 30% conjugation chains ("i work ,
you work , he works ."), 30% long-distance agreement sentences (1 to 12 tokens between subject
head and verb), 40% ordinary sentences in six tenses with negation and yes/no questions.
Subjects are i, you, he, she, it, names and noun phrases; we, they and plural noun phrases
only with `plural`. Sizes: `DEFAULT_SIZE` sentences when `CorpusConfig.size` is None; the
verbs corpus always has a test split, `DEFAULT_TEST_FRACTION` when `test_fraction` is 0.
`hold_out_verbs`: sentences using those lemmas (as main or relative-clause verbs) go only to
valid and test. The grammar is in `verbs_inflection`, the words in `verbs_lexicon`, the
families in `verbs_sentences` and `verbs_agreement`; this module re-exports their API.
Leaves out: punctuation other than , . ?, capital letters, plural "you" as a separate person.
"""

import random

from seqlm.config import CorpusConfig
from seqlm.data.corpora import Corpus, sha256_text, split_by_line
from seqlm.data.corpora.verbs_agreement import (
    AgreementExample,
    agreement_examples,
    agreement_sentence,
    as_sentence,
)
from seqlm.data.corpora.verbs_inflection import (
    TENSES,
    conjugate,
    past,
    past_participle,
    present_participle,
    third_person,
)
from seqlm.data.corpora.verbs_sentences import (
    Sentence,
    Vocabulary,
    chain,
    check_hold_out,
    full_vocabulary,
    known_verbs,
    ordinary,
)
from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report

DEFAULT_SIZE = 20_000  # sentences, when CorpusConfig.size is None
DEFAULT_TEST_FRACTION = 0.1  # used when CorpusConfig.test_fraction is 0: verbs always has a test
CHAIN_FRACTION = 0.3
AGREEMENT_FRACTION = 0.3
DEFAULT_MAX_DISTANCE = 12  # agreement distances in the corpus: 1 to this many tokens
PROGRESS_EVERY = 5_000  # sentences between progress reports

__all__ = [
    "AgreementExample", "DEFAULT_SIZE", "DEFAULT_TEST_FRACTION", "TENSES", "agreement_examples",
    "conjugate", "generate", "known_verbs", "load", "past", "past_participle",
    "present_participle", "sentences", "third_person",
]


def sentences(rng: random.Random, n: int, vocab: Vocabulary, plural: bool = False,
              max_distance: int = DEFAULT_MAX_DISTANCE,
              progress: ProgressCallback | None = None) -> list[Sentence]:
    """`n` sentences of the three families in the corpus mix, with the lemmas each uses."""
    if not vocab.kinds:
        raise SeqlmError("every verb is held out: hold out fewer verbs")
    if max_distance < 1:
        raise SeqlmError(f"max_distance={max_distance}: agreement distances need at least 1")
    out = []
    for i in range(n):
        family = rng.random()
        if family < CHAIN_FRACTION:
            out.append(chain(rng, vocab, plural))
        elif family < CHAIN_FRACTION + AGREEMENT_FRACTION:
            distance = rng.randint(1, max_distance)
            out.append(as_sentence(*agreement_sentence(
                rng, vocab, distance, plural and rng.random() < 0.5)))
        else:
            out.append(ordinary(rng, vocab, plural))
        if (i + 1) % PROGRESS_EVERY == 0 or i + 1 == n:
            report(progress, Progress("generating verbs", i + 1, n, unit="sentences"))
    return out


def generate(seed: int, n: int, plural: bool = False, hold_out: tuple[str, ...] = (),
             max_distance: int = DEFAULT_MAX_DISTANCE,
             progress: ProgressCallback | None = None) -> list[str]:
    """`n` sentences (one line each, no newline) for `seed`; `hold_out` verbs are never
    drawn. Same seed and options give the same list."""
    vocab = full_vocabulary(check_hold_out(hold_out))
    drawn = sentences(random.Random(seed), n, vocab, plural, max_distance, progress)
    return [s.text() for s in drawn]


def _with_held_out(splits: dict[str, str], held: list[str], valid_fraction: float,
                   test_fraction: float) -> dict[str, str]:
    """Deal the held-out sentences to valid and test in the ratio of their fractions."""
    n_valid = round(len(held) * valid_fraction / (valid_fraction + test_fraction))
    valid = "".join(line + "\n" for line in held[:n_valid])
    test = "".join(line + "\n" for line in held[n_valid:])
    return {"train": splits["train"], "valid": splits["valid"] + valid,
            "test": splits["test"] + test}


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    """The corpus for `config`: `size` sentences (default `DEFAULT_SIZE`) split by sentence."""
    size = DEFAULT_SIZE if config.size is None else config.size
    if size < 1:
        raise SeqlmError(f"--size {size}: the verbs corpus needs at least 1 sentence")
    hold_out = check_hold_out(config.hold_out_verbs)
    test_fraction = config.test_fraction or DEFAULT_TEST_FRACTION
    drawn = sentences(random.Random(config.seed), size, full_vocabulary(), config.plural,
                      progress=progress)
    kept = [s.text() for s in drawn if not s.lemmas & hold_out]
    held = [s.text() for s in drawn if s.lemmas & hold_out]
    splits = split_by_line(kept, config.valid_fraction, test_fraction)
    if held:
        splits = _with_held_out(splits, held, config.valid_fraction, test_fraction)
    persons = "all persons" if config.plural else "singular persons"
    held_note = f", held out: {' '.join(sorted(hold_out))}" if hold_out else ""
    return Corpus(
        name="verbs",
        splits=splits,
        sha256=sha256_text(splits["train"] + splits["valid"] + splits["test"]),
        source=f"generated (seed={config.seed})",
        description=f"generated English verb conjugations and agreement sentences, "
                    f"{size:,} sentences, {len(known_verbs())} verbs, {persons}{held_note}",
        default_unit="word",
    )
