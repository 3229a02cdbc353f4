"""The three sentence families of the `verbs` corpus, each drawn from an explicit RNG.

(a) conjugation chains, one verb and tense through the persons in a fixed order:
    "i work , you work , he works , she works ."
(b) ordinary sentences: subject, verb group (any tense, negated, or a yes/no question),
    complement and time phrase: "does anna watch the film every day ?"
(c) long-distance agreement: a subject noun phrase, an intervening phrase of exactly d tokens
    (prepositional phrases, object relative clauses, a frequency adverb) whose nouns often have
    the other number, then the verb that agrees with the subject head:
    "the teacher near the old houses that the children like works hard ."
    (Linzen, Dupoux & Goldberg 2016, "Assessing the ability of LSTMs to learn syntax-sensitive
    dependencies", TACL 4.)
Every sentence records the verb lemmas it uses, so whole verbs can be held out.
Leaves out: subject relative clauses (their verb would give the agreement away), coordination.
"""

import difflib
import random
from dataclasses import dataclass

from seqlm.data.corpora import verbs_lexicon as lex
from seqlm.data.corpora.verbs_inflection import (
    PRONOUN_PERSON,
    TENSES,
    Subject,
    conjugate_subject,
)
from seqlm.errors import SeqlmError

CHAIN_ORDER = ("i", "you", "he", "she", "it")
CHAIN_ORDER_PLURAL = (*CHAIN_ORDER, "we", "you", "they")
CHAIN_MIN_PERSONS = 3  # always "i ... , you ... , he ..."
# tenses whose finite verb shows agreement with a third-person subject
AGREEING_TENSES = ("present", "present_continuous", "past_continuous", "present_perfect")


@dataclass(frozen=True)
class Sentence:
    tokens: tuple[str, ...]
    lemmas: frozenset[str]  # every verb lemma used, main clause and relative clauses
    family: str  # "chain", "ordinary" or "agreement"

    def text(self) -> str:
        return " ".join(self.tokens)


@dataclass(frozen=True)
class Vocabulary:
    """The verbs a generator may draw, with the complement kinds of each."""

    kinds: dict[str, tuple[str, ...]]  # lemma -> complement kinds
    relative: tuple[str, ...]  # verbs allowed inside relative clauses

    def lemmas(self) -> list[str]:
        return sorted(self.kinds)


def known_verbs() -> list[str]:
    """Every verb lemma the corpus uses, sorted."""
    return full_vocabulary().lemmas()


def full_vocabulary(exclude: frozenset[str] = frozenset()) -> Vocabulary:
    kinds: dict[str, tuple[str, ...]] = {}
    for table in (lex.REGULAR, lex.IRREGULAR_KINDS):
        for kind, lemmas in table.items():
            for lemma in lemmas:
                if lemma not in exclude:
                    kinds[lemma] = (*kinds.get(lemma, ()), kind)
    relative = tuple(v for v in lex.RELATIVE_VERBS if v not in exclude)
    return Vocabulary(kinds, relative)


def allowed_tenses(lemma: str, tenses: tuple[str, ...] = TENSES) -> list[str]:
    """Stative verbs stay out of the continuous tenses ("i am knowing")."""
    if lemma in lex.STATIVE:
        return [t for t in tenses if "continuous" not in t]
    return list(tenses)


def complement(rng: random.Random, vocab: Vocabulary, lemma: str) -> list[str]:
    """What follows the verb; intransitive verbs go without one 30% of the time."""
    kind = rng.choice(vocab.kinds[lemma])
    if kind == "intr" and rng.random() < 0.3:
        return []
    return rng.choice(lex.COMPLEMENTS[kind]).split()


def noun(rng: random.Random, table: tuple[tuple[str, str], ...], plural: bool) -> str:
    return rng.choice(table)[1 if plural else 0]


def noun_subject(rng: random.Random, plural: bool, allow_names: bool = True) -> Subject:
    """A third-person noun phrase: a name, "det noun" or "det adj noun"; head = the noun."""
    if allow_names and not plural and rng.random() < 0.25:
        return Subject((rng.choice(lex.NAMES),), "3sg", 0)
    words = [rng.choice(lex.DETERMINERS)]
    if rng.random() < 0.3:
        words.append(rng.choice(lex.ADJECTIVES))
    words.append(noun(rng, lex.AGENTS, plural))
    return Subject(tuple(words), "3pl" if plural else "3sg", len(words) - 1)


def any_subject(rng: random.Random, plural: bool) -> Subject:
    """A pronoun (40%) or a noun phrase; plural persons only when `plural`."""
    if rng.random() < 0.4:
        pronouns = lex.PRONOUNS_SINGULAR + (lex.PRONOUNS_PLURAL if plural else ())
        word = rng.choice(pronouns)
        return Subject((word,), PRONOUN_PERSON[word], 0)
    return noun_subject(rng, plural and rng.random() < 0.5)


def chain(rng: random.Random, vocab: Vocabulary, plural: bool) -> Sentence:
    """(a) "i work , you work , he works ." -- present simple half of the time."""
    lemma = rng.choice(vocab.lemmas())
    tenses = allowed_tenses(lemma)
    tense = "present" if rng.random() < 0.5 else rng.choice(tenses)
    negative = rng.random() < 0.1
    order = CHAIN_ORDER_PLURAL if plural else CHAIN_ORDER
    persons = order[:rng.randint(CHAIN_MIN_PERSONS, len(order))]
    tokens: list[str] = []
    for word in persons:
        if tokens:
            tokens.append(",")
        subject = Subject((word,), PRONOUN_PERSON[word], 0)
        tokens += conjugate_subject(lemma, tense, subject, negative)
    return Sentence((*tokens, "."), frozenset({lemma}), "chain")


def ordinary(rng: random.Random, vocab: Vocabulary, plural: bool) -> Sentence:
    """(b) subject, verb group, complement, maybe a time phrase; 20% negated, 20% questions."""
    lemma = rng.choice(vocab.lemmas())
    tense = rng.choice(allowed_tenses(lemma))
    question = rng.random() < 0.2
    negative = rng.random() < 0.2
    tokens = conjugate_subject(lemma, tense, any_subject(rng, plural), negative, question)
    tokens += complement(rng, vocab, lemma)
    if rng.random() < 0.4:
        tokens += rng.choice(lex.TIME_PHRASES[tense]).split()
    return Sentence((*tokens, "?" if question else "."), frozenset({lemma}), "ordinary")


def check_hold_out(hold_out: tuple[str, ...]) -> frozenset[str]:
    """The held-out lemmas, or a SeqlmError naming an unknown one and where to see the list."""
    known = set(known_verbs())
    for lemma in hold_out:
        if lemma not in known:
            close = difflib.get_close_matches(lemma, sorted(known), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise SeqlmError(
                f"unknown verb {lemma!r} in hold_out_verbs{hint}: give lemmas the corpus uses; "
                "list them with python -c \"from seqlm.data.corpora.verbs import known_verbs; "
                "print(*known_verbs())\""
            )
    return frozenset(hold_out)
