"""Every option of every command comes from its config: name, default, help and choices.

The walk visits every (sub)command's parser. An option derived from a config field
(`seqlm.cli.config_args`) has argparse default None (a value is only taken when given) and
states the default of the command's base config; every other option is named below as not
being a config field, and holds no default of its own (None, or a flag's False). A second
test reads the cli modules' source: no choice list is written there, and no choice list is
written twice in `seqlm.config`.
"""

import argparse
import ast
import dataclasses
from pathlib import Path

import pytest

from seqlm.cli import build_parser
from seqlm.cli.config_args import BASE, OPTIONS

SRC = Path(__file__).resolve().parents[2] / "src" / "seqlm"

# options and positionals that are not config fields: files to read or write, the run
# directory, output form, and switches that pick which config a command starts from
EVERYWHERE = {"--json", "--quiet", "--out", "--overwrite", "--tensorboard"}
NOT_CONFIG = {
    "data list": set(),
    "data show": set(),
    "lab": set(),
    "ngram train": {"--arpa", "--binary", "--text-file"},
    "ngram build": {"--arpa"},
    "ngram eval": {"--arpa", "--binary", "--text-file"},
    "ngram sample": {"--arpa", "--binary"},
    "ngram predict": {"context", "--mid-sentence", "--arpa", "--binary"},
    "ngram index": set(),
    "ngram find": {"index", "text"},
    "ngram query": {"index", "context"},
    "ngram score": {"index", "--text-file"},
    "ngram shrink": {"--arpa", "--binary", "--text-file"},
    "mix": {"models", "--weights", "--dev-file", "--test-file", "--write-arpa"},
    "by-hand": set(),
    "vanishing": set(),
    "train": {"--config", "--resume"},
    "eval": {"checkpoint"},
    "sample": {"checkpoint", "--prime-file"},
    "compare": {"--quick", "--agreement", "--sweep"},
    "seq2seq train": {"--resume"},
    "seq2seq translate": {"checkpoint", "sources", "--input", "--heatmap"},
    "seq2seq eval": {"checkpoint"},
    "seq2seq compare": set(),
    "structure": {"run", "--brackets", "--quick"},
    "report": {"runs"},
    "export": {"run"},
    "serve": {"runs"},
}


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """(command name, its parser) for every leaf command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from commands(sub, (*path, name))
            return
    yield " ".join(path), parser


COMMANDS = dict(commands(build_parser()))


def mode_base(config, section: str):
    """`seqlm compare --agreement | --sweep`: their options (section "mode", and "mode.train"
    ... for the run each contains) come from AgreementConfig and SweepConfig, not from
    CompareConfig: (the section within them, the configs)."""
    from seqlm.config import AgreementConfig, CompareConfig, SweepConfig

    if section.split(".")[0] == "mode" and isinstance(config, CompareConfig):
        return section.removeprefix("mode").removeprefix("."), (AgreementConfig(),
                                                                SweepConfig())
    return None


def owner(config, section: str):
    for part in filter(None, section.split(".")):
        config = getattr(config, part)
    return config


def owner_of(config, section: str, name: str):
    """The (nested) config holding the option's field: a mode option's is that of the
    first mode that accepts it (the help shows --agreement's default where both do)."""
    from seqlm.cli.compare_modes import accepted

    found = mode_base(config, section)
    if found:
        inner, configs = found
        path = ".".join(filter(None, (inner, name)))
        return next(owner(c, inner) for c in configs if path in accepted(c))
    return owner(config, section)


def field_value(config, section: str, name: str):
    return getattr(owner_of(config, section, name), name)


def base_field(config, section: str, name: str):
    return next(f for f in dataclasses.fields(owner_of(config, section, name))
                if f.name == name)


def test_the_walk_sees_every_command_and_the_list_names_them_all():
    assert set(COMMANDS) == set(NOT_CONFIG)


@pytest.mark.parametrize("command", sorted(NOT_CONFIG))
def test_every_option_is_a_config_field_or_listed_and_no_default_is_written_in_cli(command):
    parser = COMMANDS[command]
    derived = parser.get_default(OPTIONS) or {}
    base = parser.get_default(BASE)
    assert base is not None or not derived, f"{command}: derived options but no base config"
    seen = set()
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        name = max(action.option_strings, key=len) if action.option_strings else action.dest
        seen.add(name)
        if action.dest in derived:
            assert action.default is None, f"{command} {name}: a default written in cli"
            section, field = derived[action.dest]
            value = field_value(base, section, field)
            if hasattr(action, "config_default"):  # an alias (--kenlm-precision) has none
                assert action.config_default == value, f"{command} {name}: help states " \
                    f"{action.config_default!r}, the config has {value!r}"
                choices = base_field(base, section, field).metadata.get("choices")
                if choices:  # shown in the usage, checked by the config alone
                    assert action.metavar == "{" + ",".join(choices) + "}"
                    assert action.choices is None
            continue
        assert name in NOT_CONFIG[command] | EVERYWHERE, f"{command} {name}: not derived " \
            "from a config field and not listed as a non-config option"
        assert action.default in (None, False), f"{command} {name}: default " \
            f"{action.default!r} written in cli"
    assert NOT_CONFIG[command] <= seen, f"{command}: listed options it no longer has"


def test_a_derived_option_sets_its_field_and_an_absent_one_keeps_the_base():
    from seqlm.cli.config_args import config_of

    parser = build_parser()
    args = parser.parse_args(["by-hand", "--seed", "3", "--sample", "4", "--cell", "lstm"])
    config = config_of(args)
    assert (config.sample_tokens, config.model.cell) == (4, "lstm")
    assert (config.corpus.seed, config.model.seed, config.train.seed) == (3, 3, 3)  # linked
    assert config.train.steps == args._config_base.train.steps
    args = parser.parse_args(["ngram", "eval", "--kenlm-precision", "--no-discount-fallback"])
    config = config_of(args)
    assert (config.precision, config.discount_fallback, config.unit) == ("kenlm", False, "")


def choice_literals(tree: ast.AST):
    """Every tuple or list of two or more strings written as a literal."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Tuple | ast.List) and len(node.elts) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts):
            yield node, tuple(e.value for e in node.elts)


# module-level lists in cli/ that are not choices: field names and the command modules
NAME_LISTS = {"CORPUS_OPTIONS", "COMMAND_MODULES", "AGREEMENT", "SWEEP", "COMPARE", "STRUCTURE",
              "BEYOND_ACTIONS"}  # command and action names, not option choices


def test_no_cli_module_defines_a_choice_list():
    for path in sorted((SRC / "cli").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "choices":
                assert not isinstance(node.value, ast.Tuple | ast.List | ast.Set), \
                    f"{path.name}:{node.value.lineno}: a choice list written in cli"
        for stmt in tree.body:  # module-level tuples of names, e.g. ENGINES = ("auto", ...)
            if isinstance(stmt, ast.Assign) and list(choice_literals(stmt.value)):
                names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
                assert not any(n.isupper() and n not in NAME_LISTS for n in names), \
                    f"{path.name}:{stmt.lineno}: {names} looks like a choice list; it " \
                    "belongs in seqlm.config"


def test_no_choice_list_is_written_twice_in_the_config():
    written: dict[tuple[str, ...], str] = {}
    for path in sorted((SRC / "config").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg == "choices":
                for _, values in choice_literals(node.value):
                    where = f"{path.name}:{node.value.lineno}"
                    key = tuple(sorted(values))
                    assert key not in written, f"{values} written at {written[key]} and {where}"
                    written[key] = where
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Tuple):
                for _, values in choice_literals(stmt.value):
                    key = tuple(sorted(values))
                    where = f"{path.name}:{stmt.lineno}"
                    assert key not in written, f"{values} written at {written[key]} and {where}"
                    written[key] = where
