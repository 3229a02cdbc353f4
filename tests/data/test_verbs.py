"""The `verbs` corpus: inflection on tricky verbs, conjugation, families, splits, hold-out."""

import re

import pytest

from seqlm.config import CorpusConfig
from seqlm.data.corpora import load_corpus
from seqlm.data.corpora import verbs_lexicon as lex
from seqlm.data.corpora.verbs import (
    DEFAULT_TEST_FRACTION,
    agreement_examples,
    conjugate,
    generate,
    known_verbs,
    past,
    past_participle,
    present_participle,
    third_person,
)
from seqlm.errors import SeqlmError

# lemma: third person, past, past participle, present participle
TRICKY = {
    "work": ("works", "worked", "worked", "working"),
    "watch": ("watches", "watched", "watched", "watching"),
    "go": ("goes", "went", "gone", "going"),
    "do": ("does", "did", "done", "doing"),
    "echo": ("echoes", "echoed", "echoed", "echoing"),
    "boo": ("boos", "booed", "booed", "booing"),
    "fix": ("fixes", "fixed", "fixed", "fixing"),
    "buzz": ("buzzes", "buzzed", "buzzed", "buzzing"),
    "push": ("pushes", "pushed", "pushed", "pushing"),
    "kiss": ("kisses", "kissed", "kissed", "kissing"),
    "try": ("tries", "tried", "tried", "trying"),
    "study": ("studies", "studied", "studied", "studying"),
    "play": ("plays", "played", "played", "playing"),
    "enjoy": ("enjoys", "enjoyed", "enjoyed", "enjoying"),
    "stop": ("stops", "stopped", "stopped", "stopping"),
    "plan": ("plans", "planned", "planned", "planning"),
    "prefer": ("prefers", "preferred", "preferred", "preferring"),
    "admit": ("admits", "admitted", "admitted", "admitting"),
    "control": ("controls", "controlled", "controlled", "controlling"),
    "visit": ("visits", "visited", "visited", "visiting"),
    "open": ("opens", "opened", "opened", "opening"),
    "offer": ("offers", "offered", "offered", "offering"),
    "travel": ("travels", "traveled", "traveled", "traveling"),
    "snow": ("snows", "snowed", "snowed", "snowing"),
    "rain": ("rains", "rained", "rained", "raining"),
    "cook": ("cooks", "cooked", "cooked", "cooking"),
    "make": ("makes", "made", "made", "making"),
    "live": ("lives", "lived", "lived", "living"),
    "see": ("sees", "saw", "seen", "seeing"),
    "agree": ("agrees", "agreed", "agreed", "agreeing"),
    "die": ("dies", "died", "died", "dying"),
    "lie": ("lies", "lied", "lied", "lying"),
    "panic": ("panics", "panicked", "panicked", "panicking"),
    "picnic": ("picnics", "picnicked", "picnicked", "picnicking"),
    "equip": ("equips", "equipped", "equipped", "equipping"),
    "be": ("is", "was", "been", "being"),
    "have": ("has", "had", "had", "having"),
    "begin": ("begins", "began", "begun", "beginning"),
    "forget": ("forgets", "forgot", "forgotten", "forgetting"),
    "swim": ("swims", "swam", "swum", "swimming"),
    "run": ("runs", "ran", "run", "running"),
    "write": ("writes", "wrote", "written", "writing"),
    "fly": ("flies", "flew", "flown", "flying"),
    "buy": ("buys", "bought", "bought", "buying"),
    "say": ("says", "said", "said", "saying"),
    "put": ("puts", "put", "put", "putting"),
}


@pytest.mark.parametrize("lemma", sorted(TRICKY))
def test_inflection_of_tricky_verbs(lemma):
    got = (third_person(lemma), past(lemma), past_participle(lemma), present_participle(lemma))
    assert got == TRICKY[lemma]


def test_lexicon_sizes_meet_the_issue_minimums():
    regular = {v for lemmas in lex.REGULAR.values() for v in lemmas}
    irregular = {v for lemmas in lex.IRREGULAR_KINDS.values() for v in lemmas}
    assert not regular & set(lex.IRREGULAR)  # a regular verb must not hide in the table
    assert irregular <= set(lex.IRREGULAR)
    assert len(regular) >= 60 and len(irregular) >= 20
    required = "be have do go say make take come see know get give find think tell become " \
               "leave feel bring begin"
    assert set(required.split()) <= irregular
    assert set(known_verbs()) == regular | irregular


def test_no_other_word_is_a_verb_form():
    """Otherwise a held-out verb could leak into train through a noun or a complement."""
    forms = {f for v in known_verbs() for f in
             (v, third_person(v), past(v), past_participle(v), present_participle(v))}
    words = {w for phrases in [*lex.COMPLEMENTS.values(), *lex.TIME_PHRASES.values()]
             for phrase in phrases for w in phrase.split()}
    words |= {w for pair in lex.AGENTS + lex.THINGS for w in pair}
    words |= set(lex.NAMES + lex.ADJECTIVES + lex.PREPOSITIONS + lex.PLACE_PREPOSITIONS
                 + lex.FREQUENCY_ADVERBS + lex.DETERMINERS)
    assert words & forms == set()


@pytest.mark.parametrize("tense,subject,expected", [
    ("present", "i", "i am"), ("present", "you", "you are"), ("present", "he", "he is"),
    ("present", "we", "we are"), ("present", "the dogs", "the dogs are"),
    ("past", "i", "i was"), ("past", "you", "you were"), ("past", "anna", "anna was"),
    ("past", "they", "they were"), ("present_perfect", "she", "she has been"),
    ("present_continuous", "it", "it is being"), ("future", "i", "i will be"),
])
def test_be_agrees(tense, subject, expected):
    assert " ".join(conjugate("be", tense, subject)) == expected


@pytest.mark.parametrize("lemma,tense,subject,negative,question,expected", [
    ("have", "present", "he", False, False, "he has"),
    ("have", "present", "i", False, False, "i have"),
    ("have", "present", "the teacher", True, False, "the teacher does not have"),
    ("have", "present", "she", False, True, "does she have"),
    ("do", "present", "he", False, False, "he does"),
    ("do", "present", "he", True, False, "he does not do"),
    ("do", "past", "they", False, True, "did they do"),
    ("work", "present", "he", True, False, "he does not work"),
    ("work", "present", "i", True, False, "i do not work"),
    ("work", "present", "he", False, True, "does he work"),
    ("work", "present_perfect", "i", True, False, "i have not worked"),
    ("work", "present_perfect", "she", False, True, "has she worked"),
    ("work", "present_continuous", "he", True, False, "he is not working"),
    ("work", "past_continuous", "we", False, True, "were we working"),
    ("rain", "future", "it", False, True, "will it rain"),
    ("go", "past", "anna", True, False, "anna did not go"),
    ("go", "past", "anna", False, False, "anna went"),
    ("be", "present", "i", True, True, "am i not"),
    ("watch", "present", "the old teacher", False, False, "the old teacher watches"),
    ("watch", "present", "the children", False, False, "the children watch"),
])
def test_conjugation_negation_and_questions(lemma, tense, subject, negative, question,
                                            expected):
    assert " ".join(conjugate(lemma, tense, subject, negative, question)) == expected


def test_unknown_tense_is_a_seqlm_error():
    with pytest.raises(SeqlmError, match="choose one of"):
        conjugate("work", "pluperfect", "he")


def test_generation_is_deterministic_for_a_seed():
    assert generate(3, 300) == generate(3, 300)
    assert generate(3, 300) != generate(4, 300)
    same = load_corpus(CorpusConfig(name="verbs", seed=5, size=500))
    again = load_corpus(CorpusConfig(name="verbs", seed=5, size=500))
    other = load_corpus(CorpusConfig(name="verbs", seed=6, size=500))
    assert same.splits == again.splits and same.sha256 == again.sha256
    assert same.sha256 != other.sha256


TOKEN = re.compile(r"^([a-z]+|[,.?])$")


def test_lines_are_lower_case_tokens_with_spaced_punctuation():
    lines = generate(0, 2000, plural=True)
    for line in lines:
        tokens = line.split(" ")
        assert all(TOKEN.match(t) for t in tokens), line
        assert tokens[-1] in (".", "?") and "." not in tokens[:-1] and "?" not in tokens[:-1]


def test_plural_persons_only_with_the_option():
    singular = {w for line in generate(1, 3000) for w in line.split()}
    assert not singular & {"we", "they"}
    plural = {w for line in generate(1, 3000, plural=True) for w in line.split()}
    assert {"we", "they", "are", "were"} <= plural
    assert {"houses", "children"} <= singular  # plural attractors even when plural is off


def test_conjugation_chain_is_frequent_and_correct():
    lines = generate(2, 2000)
    chains = [line.split() for line in lines if line.startswith("i ") and " , you " in line]
    assert 0.2 < len(chains) / len(lines) < 0.4
    # present chains start "i <lemma>" (put, read: past = lemma, so left out as ambiguous)
    known = set(known_verbs())
    present = [t for t in chains if t[1] in known and past(t[1]) != t[1]]
    assert len(present) > 100
    for tokens in present:
        # "i work , you work , he works": after "he" comes the third-person form
        assert tokens[tokens.index("he") + 1] == third_person(tokens[1]), " ".join(tokens)


@pytest.mark.parametrize("distance", [0, 1, 2, 3, 7, 12, 50, 101])
def test_agreement_examples_have_the_exact_distance(distance):
    examples = agreement_examples(seed=distance, n=40, distance=distance)
    assert len(examples) == 40
    for e in examples:
        assert e.verb_index - e.subject_index - 1 == distance == e.distance
        assert e.tokens[e.verb_index] == e.correct != e.wrong
        assert e.tokens[-1] == "."
        head = e.tokens[e.subject_index]
        singular = {s for s, _ in lex.AGENTS} | set(lex.NAMES)
        assert (head not in singular) == e.plural, " ".join(e.tokens)
        forms = {"is": "are", "was": "were", "has": "have", "does": "do"}
        pair = {e.correct, e.wrong}
        assert any(pair == {a, b} for a, b in forms.items()) or e.correct == third_person(
            e.wrong) or e.wrong == third_person(e.correct)
    assert {e.plural for e in examples} == {True, False}


def test_agreement_attractors_often_have_the_other_number():
    examples = agreement_examples(seed=0, n=200, distance=8, plural=False)
    plural_nouns = {p for _, p in lex.AGENTS + lex.THINGS}
    with_plural_attractor = [e for e in examples
                             if set(e.tokens[e.subject_index + 1:e.verb_index]) & plural_nouns]
    assert not any(e.plural for e in examples)
    assert len(with_plural_attractor) > 100


def test_agreement_is_deterministic():
    assert agreement_examples(9, 20, 30) == agreement_examples(9, 20, 30)
    assert agreement_examples(9, 20, 30) != agreement_examples(10, 20, 30)


def test_load_splits_sizes_and_default_test_split():
    corpus = load_corpus(CorpusConfig(name="verbs", size=1000))
    lines = {name: corpus.splits[name].splitlines() for name in ("train", "valid", "test")}
    assert [len(lines[n]) for n in ("train", "valid", "test")] == [800, 100, 100]
    assert DEFAULT_TEST_FRACTION == 0.1
    assert corpus.default_unit == "word" and corpus.source == "generated (seed=0)"
    explicit = load_corpus(CorpusConfig(name="verbs", size=1000, test_fraction=0.2))
    assert len(explicit.splits["test"].splitlines()) == 200


def test_hold_out_verbs_never_reach_train():
    held = ("watch", "give", "stop", "like")
    corpus = load_corpus(CorpusConfig(name="verbs", size=4000, hold_out_verbs=held))
    forms = {f for v in held for f in
             (v, third_person(v), past(v), past_participle(v), present_participle(v))}
    train = set(corpus.splits["train"].split())
    assert not train & forms
    rest = set((corpus.splits["valid"] + corpus.splits["test"]).split())
    for v in held:  # each held-out verb still shows up where it is allowed
        assert {third_person(v), past(v), present_participle(v), v} & rest, v
    total = sum(len(corpus.splits[s].splitlines()) for s in ("train", "valid", "test"))
    assert total == 4000


def test_unknown_hold_out_verb_is_a_seqlm_error():
    with pytest.raises(SeqlmError, match="known_verbs"):
        load_corpus(CorpusConfig(name="verbs", size=100, hold_out_verbs=("wrok",)))


def test_cli_data_show_verbs(cli):
    result = cli("data", "show", "--corpus", "verbs", "--size", "2000", "--quiet")
    assert result.returncode == 0, result.stderr
    assert "verbs" in result.stdout and "test" in result.stdout
    bad = cli("data", "show", "--corpus", "verbs", "--hold-out-verbs", "wrok")
    assert bad.returncode == 2 and "unknown verb 'wrok'" in bad.stderr
