"""The balance checker on hand-written code: strings, comments, unclosed prefixes, indentation;
and on real code (files of this Python's standard library), which must pass."""

import pytest

from seqlm.lab.structure_balance import check


def test_brackets_in_strings_and_comments_do_not_count():
    code = 'print("(", \')\', """]\n[""")  # ) ] }\nx = [1, {2: (3)}]\n'
    c = check(code)
    assert c.brackets == "balanced" and c.brackets_balance and c.open_brackets == 0


def test_an_unclosed_prefix_is_open_not_wrong():
    c = check("def f(a,\n      b=[1, 2,\n")
    assert c.brackets == "open" and c.brackets_balance and c.open_brackets == 2
    assert c.indentation_consistent  # continuation lines inside brackets are not indented


@pytest.mark.parametrize("code, status, position", [
    ("x = (1, 2]\n", "mismatched", 9),
    ("x = 1)\n", "unopened", 5),
    ("f(g(1)))\n", "unopened", 7),
    ("s = '(' + )\n", "unopened", 10),
])
def test_wrong_closers(code, status, position):
    c = check(code)
    assert (c.brackets, c.first_bracket_error, c.brackets_balance) == (status, position, False)


def test_consistent_indentation():
    code = ("    def f(self):\n"  # the sample starts inside a class body
            "        if x:  # a comment\n"
            "            return [\n"
            "  1,\n"  # inside brackets: not a logical line
            "            ]\n"
            "\n"
            "   # a comment at any indentation\n"
            "        s = '''\n"
            "text at column 0 inside a string\n"
            "'''\n"
            "def g():\n"  # below where the sample began: its new bottom
            "    pass\n"
            "    ")  # cut inside the last line's indentation: not counted
    assert check(code).indentation_errors == []


@pytest.mark.parametrize("code, error", [
    ("x = 1\n    y = 2\n", (2, "unexpected indent")),
    ("if x:\ny = 2\n", (2, "expected an indented block")),
    ("if x:\n        a\n    b\n", (3, "unindent does not match any outer level")),
    ("for i in y:\n\tz\n", None),
])
def test_indentation_errors(code, error):
    errors = check(code).indentation_errors
    assert errors == ([] if error is None else [error])


def test_standard_library_files_pass():
    from seqlm.data.corpora.python_stdlib import stdlib_files, stdlib_folder

    files = stdlib_files(stdlib_folder())
    if not files:
        pytest.skip("this Python ships without .py sources")
    small = [p for p in files if 2_000 < p.stat().st_size < 12_000]  # real code, in seconds
    for path in small[:: max(1, len(small) // 5)][:5]:
        c = check(path.read_text(encoding="utf-8"))
        assert (c.brackets, c.indentation_errors, c.string_errors) == ("balanced", [], 0), path
