"""Long-distance subject-verb agreement: sentences whose verb sits exactly d tokens after the
subject's head noun, for the vanishing-gradient experiments.

The d tokens between them are built from units whose lengths add up to d exactly:
    2  prep + bare plural            "with dogs"
    3  prep + det + noun             "near the houses"
    4  prep + the + adj + noun       "behind the old tree"   or  "that the children like"
    5  object relative clause        "that the old child sees"  /  "that the boys often saw"
    1  a frequency adverb right before the verb ("often"), used for odd remainders
Each attractor noun (and each relative-clause subject) takes the subject's number flipped with
probability `flip`, so the nearest noun is no guide to the verb: the model has to carry the
subject's number across the gap (Linzen et al. 2016, TACL 4; Bengio, Simard & Frasconi 1994
for why that is hard for a plain RNN). Leaves out: nested subject relatives, questions (their
verb comes before the subject).
"""

import random
from dataclasses import dataclass

from seqlm.data.corpora import verbs_lexicon as lex
from seqlm.data.corpora.verbs_inflection import Subject, verb_group
from seqlm.data.corpora.verbs_sentences import (
    AGREEING_TENSES,
    Sentence,
    Vocabulary,
    allowed_tenses,
    check_hold_out,
    complement,
    full_vocabulary,
    noun,
    noun_subject,
)
from seqlm.errors import SeqlmError

DEFAULT_FLIP = 0.5  # chance that an attractor has the other number than the subject


@dataclass(frozen=True)
class AgreementExample:
    """One agreement test item: `tokens` is the full sentence with the correct verb form at
    `verb_index`; `wrong` is the same verb in the other number ("works" vs "work")."""

    tokens: tuple[str, ...]
    subject_index: int  # the subject's head noun ("teacher" in "the old teacher ...")
    verb_index: int  # the finite verb that must agree with it
    correct: str
    wrong: str
    plural: bool = False  # the subject's number

    @property
    def distance(self) -> int:
        """Tokens strictly between the subject head and the verb."""
        return self.verb_index - self.subject_index - 1

    @property
    def prefix(self) -> tuple[str, ...]:
        """What a language model sees before it must choose between `correct` and `wrong`."""
        return self.tokens[:self.verb_index]


def _attractor_plural(rng: random.Random, subject_plural: bool, flip: float) -> bool:
    return subject_plural != (rng.random() < flip)


def _noun_after(rng: random.Random, plural: bool) -> tuple[str, str]:
    """(preposition, noun): places and things take any preposition, people the general ones."""
    if rng.random() < 0.7:
        return rng.choice(lex.PREPOSITIONS + lex.PLACE_PREPOSITIONS), noun(rng, lex.THINGS, plural)
    return rng.choice(lex.PREPOSITIONS), noun(rng, lex.AGENTS, plural)


def _relative(rng: random.Random, vocab: Vocabulary, size: int, plural: bool,
              flip: float) -> tuple[list[str], str]:
    """An object relative clause of 4 or 5 tokens: "that the child(ren) [adj|adv] verb"."""
    lemma = rng.choice(vocab.relative)
    inner_plural = _attractor_plural(rng, plural, flip)
    tense = "present" if rng.random() < 0.6 else "past"
    form = verb_group(lemma, tense, "3pl" if inner_plural else "3sg", False)[0]
    inner = noun(rng, lex.AGENTS, inner_plural)
    if size == 4:
        return ["that", "the", inner, form], lemma
    if rng.random() < 0.5:
        return ["that", "the", rng.choice(lex.ADJECTIVES), inner, form], lemma
    return ["that", "the", inner, rng.choice(lex.FREQUENCY_ADVERBS), form], lemma


def _unit(rng: random.Random, vocab: Vocabulary, size: int, plural: bool,
          flip: float) -> tuple[list[str], str | None]:
    """One unit of exactly `size` tokens (2 to 5) and the verb lemma it uses, if any."""
    if size == 5 or (size == 4 and vocab.relative and rng.random() < 0.5):
        return _relative(rng, vocab, size, plural, flip)
    attractor_plural = size == 2 or _attractor_plural(rng, plural, flip)
    prep, word = _noun_after(rng, attractor_plural)
    if size == 2:
        return [prep, word], None
    if size == 3:
        return [prep, rng.choice(lex.DETERMINERS), word], None
    return [prep, "the", rng.choice(lex.ADJECTIVES), word], None


def intervening(rng: random.Random, vocab: Vocabulary, distance: int, plural: bool,
                flip: float = DEFAULT_FLIP) -> tuple[list[str], set[str]]:
    """Exactly `distance` tokens to put between a subject of number `plural` and its verb,
    and the verb lemmas they use."""
    largest = 5 if vocab.relative else 4
    adverb = distance == 1 or (distance >= 4 and rng.random() < 0.3)
    remaining = distance - adverb
    tokens: list[str] = []
    lemmas: set[str] = set()
    while remaining:
        # never leave exactly 1 token: no unit is that short
        size = rng.choice([n for n in range(2, min(largest, remaining) + 1)
                           if remaining - n != 1])
        unit, lemma = _unit(rng, vocab, size, plural, flip)
        tokens += unit
        lemmas.update([lemma] if lemma else [])
        remaining -= size
    if adverb:
        tokens.append(rng.choice(lex.FREQUENCY_ADVERBS))
    return tokens, lemmas


def agreement_sentence(rng: random.Random, vocab: Vocabulary, distance: int, plural: bool,
                       flip: float = DEFAULT_FLIP) -> tuple[AgreementExample, frozenset[str]]:
    """A declarative sentence with `distance` tokens between subject head and verb."""
    subject: Subject = noun_subject(rng, plural)
    gap, lemmas = intervening(rng, vocab, distance, plural, flip)
    lemma = rng.choice(vocab.lemmas())
    tenses = allowed_tenses(lemma, AGREEING_TENSES) + (["past"] if lemma == "be" else [])
    tense = rng.choice(tenses)
    negative = rng.random() < 0.15
    finite, rest = verb_group(lemma, tense, subject.person, negative)
    wrong = verb_group(lemma, tense, "3sg" if plural else "3pl", negative)[0]
    rest = ["not", *rest] if negative else rest
    prefix = [*subject.tokens, *gap]
    tokens = (*prefix, finite, *rest, *complement(rng, vocab, lemma), ".")
    example = AgreementExample(tokens, subject.head, len(prefix), finite, wrong, plural)
    return example, frozenset({lemma, *lemmas})


def as_sentence(example: AgreementExample, lemmas: frozenset[str]) -> Sentence:
    return Sentence(example.tokens, lemmas, "agreement")


def agreement_examples(seed: int, n: int, distance: int, plural: bool = True,
                       flip: float = DEFAULT_FLIP,
                       hold_out: tuple[str, ...] = ()) -> list[AgreementExample]:
    """`n` agreement items with exactly `distance` tokens between subject head and verb.

    With `plural` (the default) each subject is plural with probability 1/2, so always
    guessing one number scores about 50%; with `plural=False` every subject is singular and
    only the plural attractors make the task hard. Deterministic for `seed`."""
    if distance < 0 or n < 0:
        raise SeqlmError(f"distance={distance}, n={n}: both must be 0 or more")
    rng = random.Random(seed)
    vocab = full_vocabulary(check_hold_out(hold_out))
    return [agreement_sentence(rng, vocab, distance, plural and rng.random() < 0.5, flip)[0]
            for _ in range(n)]
