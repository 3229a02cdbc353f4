"""The depth, indentation and string labellers, exact on hand-written examples."""

import numpy as np
import pytest

from seqlm.lab.structure_labels import scan


def labels(text: str, name: str, pairs: str = "()[]{}") -> list[int]:
    return scan(text, pairs).label(name).tolist()


def test_depth_counts_code_brackets_only():
    text = 'f(a[1], "(")  # )\n'
    #        f  (  a  [  1  ]  ,     "  (  "  )           #     )  \n
    assert labels(text, "depth") == [0, 1, 1, 2, 2, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    s = scan(text)
    assert s.matches == [(3, 5), (1, 11)] and s.errors == [] and s.open_at_end == []


def test_depth_on_dyck_strings_with_other_pairs():
    assert labels("<(<>)>\n", "depth", "()<>") == [1, 2, 3, 2, 1, 0, 0]
    assert labels("(]", "depth", "()[]") == [1, 0]
    assert scan("(]", "()[]").errors == [(1, "mismatched")]
    assert scan(")(", "()").errors == [(0, "unopened")] and scan(")(", "()").open_at_end == [1]


def test_indentation_counts_leading_whitespace_as_read():
    text = "if x:\n\tif y:\n\t    z = 1\n  w\n"
    expected = ([0] * 5 + [0]  # "if x:" and its newline
                + [8] * 6 + [0]  # a tab goes to column 8
                + [8, 9, 10, 11, 12] + [12] * 5 + [0]  # tab then four spaces: counts up
                + [1, 2, 2, 0])
    assert labels(text, "indent") == expected


def test_in_string_covers_quotes_escapes_and_triple_quotes():
    text = "x = 'a\\'b' + \"\"\"c\nd\"\"\"\n"
    inside = labels(text, "in_string")
    assert "".join(ch for ch, i in zip(text, inside, strict=True) if i) == \
        "'a\\'b'" + '"""c\nd"""'
    assert inside[-1] == 0


def test_comments_hide_quotes_and_brackets_and_strings_hide_hashes():
    text = "# it's (\nx = '#(' + 1\n"
    s = scan(text)
    assert s.depth.max() == 0 and s.errors == []
    assert s.in_comment[: text.index("\n")].all() and not s.in_comment[text.index("\n"):].any()
    assert np.flatnonzero(s.in_string).tolist() == [13, 14, 15, 16]


def test_unterminated_one_quote_string_ends_at_the_newline():
    s = scan("x = 'abc\ny = (1)\n")
    assert s.errors == [(8, "unterminated string")]
    assert s.matches == [(13, 15)] and s.in_string[9:].sum() == 0


def test_a_text_cut_inside_a_string_says_so():
    s = scan('x = """doc (\n')
    assert s.string_at_end and s.open_at_end == []


def test_pairs_must_come_two_by_two():
    with pytest.raises(ValueError):
        scan("()", "(")
