"""`seqlm ngram ACTION` builds only that action's parser: the same actions are listed as the
full parser has, and each one parses a command line as the full parser does."""

import argparse

import pytest

from seqlm.cli import build_parser
from seqlm.cli.ngram import ACTIONS


def ngram_actions(parser: argparse.ArgumentParser) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    ngram = sub.choices["ngram"]
    return list(next(a for a in ngram._actions
                     if isinstance(a, argparse._SubParsersAction)).choices)


def test_the_listed_actions_are_the_parsers_actions():
    assert ngram_actions(build_parser(["ngram"])) == list(ACTIONS)
    assert ngram_actions(build_parser(["ngram", "--help"])) == list(ACTIONS)
    assert ngram_actions(build_parser(["ngram", "train"])) == ["train"]
    assert ngram_actions(build_parser(["ngram", "evl"])) == list(ACTIONS)  # a typo: all


@pytest.mark.parametrize("argv", [
    ["ngram", "train", "--order", "5", "--text-file", "t.txt", "--arpa", "m.arpa",
     "--arpa-writer", "numpy", "--memory", "1G", "--quiet"],
    ["ngram", "eval", "--arpa", "m.arpa", "--workers", "2"],
    ["ngram", "predict", "the cat", "--top-k", "3"],
    ["ngram", "score", "x.idx", "--text-file", "t.txt"],
])
def test_one_action_parses_as_the_full_parser(argv):
    alone, full = (vars(build_parser(a).parse_args(argv)) for a in (argv, None))
    assert alone.pop("_parser").prog == full.pop("_parser").prog  # each its own parser object
    assert alone == full
