"""English verb inflection and conjugation: the grammar behind the `verbs` corpus.

Spelling rules (American): -s/-es/-ies for the third person (watches, goes, tries, plays);
-ed/-ing with a final silent e dropped (make -> making, but see -> seeing), ie -> y (die ->
dying), the final consonant doubled after one stressed short vowel (stop -> stopped, prefer ->
preferred, but visit -> visited, fix -> fixed), k added after a final -ic (panic -> panicked);
see Quirk et al., *A Comprehensive Grammar of the English Language* (1985), 3.5-3.9. Stress
cannot be read from spelling, so the lexicon lists the verbs whose last syllable is stressed.
Conjugation builds the finite verb group for six tenses with do-support for negation and
yes/no questions. Leaves out: contractions (doesn't), modals other than will, the passive,
irregular spellings not in the lexicon.
"""

from dataclasses import dataclass

from seqlm.data.corpora.verbs_lexicon import AGENTS, IRREGULAR, STRESSED_FINAL
from seqlm.errors import SeqlmError

TENSES = ("present", "past", "present_continuous", "past_continuous", "present_perfect",
          "future")
# grammatical persons; "2" is you, singular or plural alike
PERSONS = ("1sg", "2", "3sg", "1pl", "3pl")
PRONOUN_PERSON = {"i": "1sg", "you": "2", "he": "3sg", "she": "3sg", "it": "3sg",
                  "we": "1pl", "they": "3pl"}
PLURAL_PERSONS = frozenset({"1pl", "3pl"})
VOWELS = frozenset("aeiou")
PLURAL_NOUNS = frozenset(plural for _, plural in AGENTS)


def _is_vowel(word: str, i: int) -> bool:
    """Whether `word[i]` sounds as a vowel: y after a consonant does (try), u after q does not."""
    c = word[i]
    if c == "y":
        return i > 0 and word[i - 1] not in VOWELS
    if c == "u" and i > 0 and word[i - 1] == "q":
        return False
    return c in VOWELS


def syllables(word: str) -> int:
    """Vowel groups in `word`; used only on words ending in a consonant, where a silent
    final e cannot miscount."""
    groups, previous = 0, False
    for i in range(len(word)):
        vowel = _is_vowel(word, i)
        if vowel and not previous:
            groups += 1
        previous = vowel
    return groups


def doubles_final(lemma: str) -> bool:
    """stop -> stopped, prefer -> preferred: one short stressed vowel before one final consonant
    (never w, x or y). One-syllable verbs are stressed; longer ones only if the lexicon says."""
    if len(lemma) < 3 or lemma[-1] in "wxy" or _is_vowel(lemma, len(lemma) - 1):
        return False
    cvc = (_is_vowel(lemma, len(lemma) - 2) and not _is_vowel(lemma, len(lemma) - 3))
    return cvc and (lemma in STRESSED_FINAL or syllables(lemma) == 1)


def _ends_consonant_y(lemma: str) -> bool:
    return lemma.endswith("y") and len(lemma) > 1 and lemma[-2] not in VOWELS


def _add_suffix(lemma: str, suffix: str) -> str:
    """Regular -ed or -ing with the spelling changes they share."""
    if suffix == "ed" and lemma.endswith("e"):
        return lemma + "d"  # live -> lived, agree -> agreed, die -> died
    if suffix == "ed" and _ends_consonant_y(lemma):
        return lemma[:-1] + "ied"  # try -> tried
    if suffix == "ing" and lemma.endswith("ie"):
        return lemma[:-2] + "ying"  # die -> dying
    if suffix == "ing" and lemma.endswith("e") and not lemma.endswith(("ee", "ye", "oe")) \
            and lemma != "be":
        return lemma[:-1] + "ing"  # make -> making, but see -> seeing
    if lemma.endswith("ic") and syllables(lemma) > 1:
        return lemma + "k" + suffix  # panic -> panicked (c stays hard)
    if doubles_final(lemma):
        return lemma + lemma[-1] + suffix  # stop -> stopped
    return lemma + suffix


def third_person(lemma: str) -> str:
    """he works / watches / goes / tries / plays; is, has."""
    if lemma == "be":
        return "is"
    if lemma == "have":
        return "has"
    if lemma.endswith(("s", "x", "z", "ch", "sh")) or (
            lemma.endswith("o") and not _is_vowel(lemma, len(lemma) - 2)):
        return lemma + "es"  # watches, goes; but boos
    if _ends_consonant_y(lemma):
        return lemma[:-1] + "ies"
    return lemma + "s"


def past(lemma: str) -> str:
    """Past simple; for "be" the singular "was" (conjugate picks "were" by person)."""
    return IRREGULAR[lemma][0] if lemma in IRREGULAR else _add_suffix(lemma, "ed")


def past_participle(lemma: str) -> str:
    return IRREGULAR[lemma][1] if lemma in IRREGULAR else _add_suffix(lemma, "ed")


def present_participle(lemma: str) -> str:
    return _add_suffix(lemma, "ing")


@dataclass(frozen=True)
class Subject:
    """A subject noun phrase: its tokens, its person, and where its head word sits."""

    tokens: tuple[str, ...]
    person: str
    head: int = 0  # index of the head noun in `tokens` (the word the verb agrees with)

    @property
    def plural(self) -> bool:
        return self.person in PLURAL_PERSONS


def subject_of(text: str) -> Subject:
    """Read a subject: a pronoun, "x and y" (plural), a phrase ending in a plural noun of the
    lexicon ("the dogs"), anything else third person singular ("anna", "the teacher")."""
    tokens = tuple(text.lower().split())
    if not tokens:
        raise SeqlmError("empty subject: give a pronoun, a name or a noun phrase")
    if len(tokens) == 1 and tokens[0] in PRONOUN_PERSON:
        return Subject(tokens, PRONOUN_PERSON[tokens[0]])
    plural = "and" in tokens or tokens[-1] in PLURAL_NOUNS
    return Subject(tokens, "3pl" if plural else "3sg", len(tokens) - 1)


def _be(tense: str, person: str) -> str:
    if tense == "present":
        return {"1sg": "am", "3sg": "is"}.get(person, "are")
    return "was" if person in ("1sg", "3sg") else "were"


def verb_group(lemma: str, tense: str, person: str, needs_aux: bool) -> tuple[str, list[str]]:
    """(finite word, the non-finite rest) of the verb group; `needs_aux` asks for do-support
    (negation, questions) where the tense has no auxiliary of its own."""
    if tense not in TENSES:
        raise SeqlmError(f"unknown tense {tense!r}: choose one of {', '.join(TENSES)}")
    third = person == "3sg"
    if tense in ("present", "past") and lemma == "be":
        return _be(tense, person), []
    if tense == "present":
        if needs_aux:
            return ("does" if third else "do"), [lemma]
        return (third_person(lemma) if third else lemma), []
    if tense == "past":
        return ("did", [lemma]) if needs_aux else (past(lemma), [])
    if tense == "present_continuous":
        return _be("present", person), [present_participle(lemma)]
    if tense == "past_continuous":
        return _be("past", person), [present_participle(lemma)]
    if tense == "present_perfect":
        return ("has" if third else "have"), [past_participle(lemma)]
    return "will", [lemma]


def conjugate_subject(lemma: str, tense: str, subject: Subject, negative: bool = False,
                      question: bool = False) -> list[str]:
    """`conjugate` for a `Subject` already read."""
    finite, rest = verb_group(lemma, tense, subject.person, negative or question)
    if negative:
        rest = ["not", *rest]
    if question:
        return [finite, *subject.tokens, *rest]
    return [*subject.tokens, finite, *rest]


def conjugate(lemma: str, tense: str, subject: str, negative: bool = False,
              question: bool = False) -> list[str]:
    """The clause's subject and verb tokens, without final punctuation so that objects can
    follow: ("work", "present", "he", negative=True) -> ["he", "does", "not", "work"];
    question=True -> ["does", "he", "work"]; the caller adds "." or "?"."""
    return conjugate_subject(lemma, tense, subject_of(subject), negative, question)
