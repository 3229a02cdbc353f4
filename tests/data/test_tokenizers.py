from hypothesis import given
from hypothesis import strategies as st

from seqlm.data.tokenizers import ByteTokenizer, CharTokenizer, WordTokenizer, get_tokenizer

words = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                       blacklist_characters=" \t\r\n"), min_size=1, max_size=8)
lines = st.lists(words, max_size=6).map(" ".join)
texts_of_lines = st.lists(lines, max_size=5).map(lambda ls: "".join(line + "\n" for line in ls))


@given(st.text())
def test_char_round_trip(text):
    tok = CharTokenizer()
    assert tok.detokenize(tok.tokenize(text)) == text
    assert len(tok.tokenize(text)) == len(text)


@given(st.text())
def test_byte_round_trip_and_one_token_per_byte(text):
    tok = ByteTokenizer()
    tokens = tok.tokenize(text)
    assert tok.detokenize(tokens) == text
    assert len(tokens) == len(text.encode("utf-8"))
    assert all(len(t) == 1 and ord(t) < 256 for t in tokens)


@given(texts_of_lines)
def test_word_round_trip_on_normalized_text(text):
    tok = WordTokenizer()
    assert tok.detokenize(tok.tokenize(text)) == text


@given(st.text())
def test_word_normalize_is_idempotent(text):
    tok = WordTokenizer()
    once = tok.normalize(text)
    assert tok.normalize(once) == once


def test_word_tokenizer_marks_line_ends_and_splits_like_kenlm():
    tok = WordTokenizer()
    assert tok.tokenize("i work ,\tyou work .\n\nhe works") == [
        "i", "work", ",", "you", "work", ".", "</s>", "</s>", "he", "works", "</s>"]
    # a non-breaking space is part of a word, as in KenLM (str.split() would split it)
    assert tok.tokenize("a\u00a0b c") == ["a\u00a0b", "c", "</s>"]


def test_registry_names_units():
    assert get_tokenizer("char").unit == "char"
    assert get_tokenizer("byte").unit == "byte"
