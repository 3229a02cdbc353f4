"""The CLI end to end in subprocesses: help, data commands, lab, and each bad input."""

import json

from conftest import run_cli, run_cli_json


def test_help_lists_subcommands():
    result = run_cli("--help")
    assert result.returncode == 0
    for name in ("data", "lab"):
        assert name in result.stdout


def test_data_list_text_and_json():
    result = run_cli("data", "list")
    assert result.returncode == 0 and "tinyshakespeare" in result.stdout
    payload = run_cli_json("data", "list")
    assert {c["name"] for c in payload["corpora"]} >= {"tinyshakespeare", "verbs", "dates"}


def test_data_show_file_corpus(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello world\n" * 50)
    payload = run_cli_json("data", "show", "--corpus", f"file:{path}", "--unit", "word")
    assert payload["splits"]["train"]["tokens"] > 0 and len(payload["sha256"]) == 64
    assert payload["samples"][0] == "hello world"


def test_data_show_tinyshakespeare(shakespeare_dir):
    payload = run_cli_json("data", "show", "--corpus", "tinyshakespeare",
                           env={"SEQLM_DATA_DIR": str(shakespeare_dir)})
    assert payload["chars"] == 1_115_394 and payload["vocab_size"] == 65 + 4


def check_error(result, *fragments):
    assert result.returncode == 2, result.stdout + result.stderr
    err = result.stderr.strip()
    assert err.startswith("seqlm: error:") and "Traceback" not in err
    assert len(err.splitlines()) == 1
    for fragment in fragments:
        assert fragment in err


def test_bad_inputs_give_one_line_errors(tmp_path):
    check_error(run_cli("data", "show", "--corpus", "wikitext"), "unknown corpus",
                "tinyshakespeare")
    check_error(run_cli("data", "show", "--corpus", f"file:{tmp_path / 'missing.txt'}"),
                "does not exist")
    (tmp_path / "blank.txt").write_text("   \n\n")
    check_error(run_cli("data", "show", "--corpus", f"file:{tmp_path / 'blank.txt'}"),
                "whitespace only")
    (tmp_path / "latin1.txt").write_bytes(b"na\xefve")
    check_error(run_cli("data", "show", "--corpus", f"file:{tmp_path / 'latin1.txt'}"), "byte 2",
                "--encoding-errors replace")
    fake = tmp_path / "fake.txt"
    fake.write_text("not the real thing")
    check_error(run_cli("data", "show", "--corpus", "tinyshakespeare", "--data-path", str(fake)),
                "sha256", "delete it")
    empty_cache = tmp_path / "cache"
    offline = run_cli("data", "show", "--corpus", "tinyshakespeare", "--data-dir", str(empty_cache),
                      env={"https_proxy": "http://127.0.0.1:9",
                           "HTTPS_PROXY": "http://127.0.0.1:9"})
    check_error(offline, "put tinyshakespeare.txt")
    assert not any(empty_cache.iterdir()) if empty_cache.exists() else True


def test_lab_quick_writes_report_and_manifest(tmp_path):
    out = tmp_path / "lab"
    payload = run_cli_json("lab", "--quick", "--steps", "corpora", "--out", str(out))
    assert (out / "report.md").read_text().startswith("# seqlm lab report")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "ok" and "corpora" in manifest["metrics"]
    assert payload["run_dir"] == str(out)
    # a second run into the same directory is refused, and the first is kept
    check_error(run_cli("lab", "--quick", "--steps", "corpora", "--out", str(out)), "--overwrite")
    assert (out / "report.md").exists()
    check_error(run_cli("lab", "--steps", "nonsense", "--out", str(tmp_path / "x")),
                "invalid choice: 'nonsense'")
    assert not (tmp_path / "x").exists()


def every_parser():
    from seqlm.cli import build_parser

    stack = [("seqlm", build_parser())]
    while stack:
        name, parser = stack.pop()
        subs = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
        if not subs:
            yield name, parser
        for sub in subs:
            stack += [(f"{name} {n}", p) for n, p in sub.choices.items()]


def test_help_shows_a_default_for_every_option_that_has_one():
    """Config-derived options show the config's default; hand-made ones their own."""
    from seqlm.cli.faults import has_no_default

    for name, parser in every_parser():
        formatter = parser._get_formatter()
        for action in parser._actions:
            meaningful = not has_no_default(action) or getattr(
                action, "config_default", None) not in (None, False, ())
            if action.option_strings and meaningful and action.help != "==SUPPRESS==":
                text = formatter._expand_help(action) if action.help else ""
                assert "default" in text, (name, action.option_strings, text)


def top_level(parser) -> dict:
    return next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction").choices


def test_a_command_builds_only_its_own_parser():
    """`COMMANDS` names every command with the module that registers it; a parser built for
    one command's argv holds that module's commands alone, and parses the same options as
    the full parser's."""
    import importlib

    from seqlm.cli import COMMANDS, build_parser

    assert list(top_level(build_parser())) == list(COMMANDS)
    for name, module in COMMANDS.items():
        alone = top_level(build_parser([name]))
        assert name in alone and {n for n, m in COMMANDS.items() if m == module} == set(alone)
    full, lazy = build_parser(), build_parser(["ngram"])
    argv = ["ngram", "train", "--order", "4", "--text-file", "t.txt", "--quiet"]
    keep = lambda ns: {k: v for k, v in vars(ns).items() if not k.startswith("_")}  # noqa: E731
    assert keep(full.parse_args(argv)) == keep(lazy.parse_args(argv))
    assert importlib.import_module(COMMANDS["ngram"]).__name__ == "seqlm.cli.ngram"


def test_ngram_train_imports_no_other_command(tmp_path):
    import subprocess
    import sys

    from conftest import SRC

    (tmp_path / "t.txt").write_text("a b c\nb c d\n")
    code = ("import sys; from seqlm.cli import main; "
            f"main(['ngram', 'train', '--text-file', {str(tmp_path / 't.txt')!r}, '--order', "
            f"'2', '--out', {str(tmp_path / 'r')!r}, '--quiet']); "
            "print(*sorted(m for m in sys.modules if m.startswith(('seqlm.cli.', 'seqlm.lab', "
            "'seqlm.nn', 'seqlm.training'))))")
    out = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(SRC)},
                         capture_output=True, text=True, timeout=120, check=True).stdout
    assert out.splitlines()[-1].split() == ["seqlm.cli.bars", "seqlm.cli.config_args",
                                          "seqlm.cli.faults", "seqlm.cli.ngram",
                                          "seqlm.cli.options", "seqlm.cli.signals"]
