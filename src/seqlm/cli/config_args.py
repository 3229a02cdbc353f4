"""Command-line options derived from the config dataclasses: one home for every default.

`add_config_options(group, config, section)` adds one option per field of a config (or of the
fields named): its flag is the field's name with dashes (`hidden_size` -> `--hidden-size`,
unless `flags` renames it), its type, choices and range come from the field's annotation and
`opt(...)` metadata, its help from `opt(help=...)` followed by the default the config has.
The option's own default is None, so a value is only taken from the command line when given;
`apply_options(config, args)` then replaces exactly those fields, in every nested section, and
the config's own checks validate the result. A flag a command already has (shared with another
section) is not added twice. An experiment's config contains the run it varies
(`CompareConfig.train`): `add_options` also takes field paths into it, flagged and explained
as the experiment's `OPTIONS` map says (`train.model.hidden_size` is `--lstm-hidden`).

A command states its config once, `use_config(parser, base)`, and builds it with
`config_of(args)`: the base with the options given. `add_alias` adds a second spelling that
sets a field to one value (`--kenlm-precision` = `--precision kenlm`), `link_option` lets one
option set several fields (`--seed` seeds the corpus, the weights and the batches).
Leaves out: options that are not config fields (paths of files to read, `--json`, `--out`),
which commands add by hand; tests/cli/test_options_from_config.py lists them.
"""

import argparse
import typing
from dataclasses import fields, is_dataclass, replace
from typing import Any

from seqlm.config.fields import opt  # noqa: F401 - the metadata read here is what opt() writes

OPTIONS = "_config_options"  # parser default: dest -> (section path, field name)
LINKS = "_config_links"  # parser default: dest -> further (section path, field name) it sets
BASE = "_config_base"  # parser default: the config a command's options are laid over


def flag_for(name: str, flags: dict[str, str]) -> str:
    return flags.get(name, "--" + name.replace("_", "-"))


def option_kind(tp: Any) -> tuple[Any, dict]:
    """argparse `type` and extra keywords for a field's annotation."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is not None and type(None) in args:  # X | None
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple:
        item = args[0]
        nargs = "*" if len(args) == 2 and args[1] is Ellipsis else len(args)
        return item, {"nargs": nargs}
    if tp is bool:
        return None, {"action": argparse.BooleanOptionalAction}
    return tp, {}


def show(value: Any) -> str:
    if value == "":
        return "''"
    if isinstance(value, tuple):
        return " ".join(map(str, value)) if value else "none"
    return "none" if value is None else str(value)


def add_config_options(group, config: Any, section: str = "", names: tuple[str, ...] = (),
                       flags: dict[str, str] | None = None, skip: tuple[str, ...] = (),
                       types: dict[str, Any] | None = None) -> None:
    """Options for the fields of `config` (all, or `names`), nested configs excluded; `types`
    gives a field its own parser of the option's text (`--include '*.c,*.h'`)."""
    flags, types = flags or {}, types or {}
    for f in fields(config):
        if (names and f.name not in names) or f.name in skip or is_dataclass(f.type) \
                or f.name in ("out", "overwrite"):
            continue
        add_field_option(group, config, f, section, flag_for(f.name, flags),
                         parse=types.get(f.name))


def add_options(group, config: Any, names: tuple[str, ...], section: str = "") -> None:
    """Options, in the order of `names`, for fields of `config` (`"cells"`) and of the configs
    it contains (`"train.engine.max_steps"`): a path's flag and help are the ones
    `config.OPTIONS` gives it (the experiment's words), its type, range, choices and default
    those of the field it names."""
    named = getattr(config, "OPTIONS", {})
    for name in names:
        *parts, leaf = name.split(".")
        if not parts:
            add_config_options(group, config, section, names=(name,))
            continue
        owner = config
        for part in parts:
            owner = getattr(owner, part)
        field = next(f for f in fields(owner) if f.name == leaf)
        flag, text = named.get(name, (flag_for(leaf, {}), None))
        add_field_option(group, owner, field, ".".join(filter(None, (section, *parts))), flag,
                         text, metavar=flag.removeprefix("--").replace("-", "_").upper())


def add_field_option(group, owner: Any, f: Any, section: str, flag: str,
                     text: str | None = None, metavar: str | None = None,
                     parse: Any = None) -> None:
    """The option of field `f` of `owner`, whose values land in config section `section`;
    `text` replaces the field's help, `parse` its parser. A flag taken already is skipped."""
    # an argument group shares its parser's actions and defaults, so either will do here
    known = group.get_default(OPTIONS) or {}
    if flag in {s for a in group._actions for s in a.option_strings}:
        return
    kind, extra = option_kind(f.type)
    if parse is not None:
        kind, extra = parse, {}
    value = getattr(owner, f.name)
    if extra.get("nargs") == "*" and value:  # a list that is never empty: one item at least
        extra = {**extra, "nargs": "+"}
    text = f.metadata.get("help", "") if text is None else text
    dest = f"{section}.{f.name}" if section else f.name
    # the choices are shown, not checked here: the config checks them, once, and its
    # message names the option like every other bad value's
    choices = f.metadata.get("choices")
    metavar = None if kind is None else "{" + ",".join(choices) + "}" if choices \
        else metavar or f.name.upper()
    action = group.add_argument(flag, dest=dest.replace(".", "__"), default=None,
                                metavar=metavar,
                                help=f"{text.replace('%', '%%')} (default: {show(value)})"
                                .strip(),  # argparse formats help with %
                                **({"type": kind} if kind is not None else {}), **extra)
    action.config_default = value
    group.set_defaults(**{OPTIONS: {**known, action.dest: (section, f.name)}})


def register_option(parser, dest: str, section: str, name: str) -> None:
    """A hand-made option (its own parsing) that sets config field `section.name`."""
    known = parser.get_default(OPTIONS) or {}
    parser.set_defaults(**{OPTIONS: {**known, dest: (section, name)}})


def dest_of(group, section: str, name: str) -> str:
    """The dest of the option derived from field `section.name`."""
    known = group.get_default(OPTIONS) or {}
    return next(d for d, target in known.items() if target == (section, name))


def add_alias(group, flag: str, section: str, name: str, value: Any, help: str) -> None:  # noqa: A002
    """`flag` (no argument) sets field `section.name` to `value`, like its derived option."""
    group.add_argument(flag, dest=dest_of(group, section, name), action="store_const",
                       const=value, default=None, help=help)


def link_option(parser, section: str, name: str, *targets: str) -> None:
    """The option of field `section.name` also sets `targets` ("model.seed", ...)."""
    links = parser.get_default(LINKS) or {}
    dest = dest_of(parser, section, name)
    pairs = tuple(tuple(t.rsplit(".", 1)) if "." in t else ("", t) for t in targets)
    parser.set_defaults(**{LINKS: {**links, dest: links.get(dest, ()) + pairs}})


def use_config(parser, base: Any) -> None:
    """`base` is the config this command's options are laid over (`config_of`)."""
    parser.set_defaults(**{BASE: base})


def config_of(args: argparse.Namespace, base: Any = None) -> Any:
    """The command's config: its base (or `base`) with every option given replaced."""
    return apply_options(getattr(args, BASE) if base is None else base, args)


def given(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The config values given on the command line, by section path (linked fields too)."""
    out: dict[str, dict[str, Any]] = {}
    links = getattr(args, LINKS, None) or {}
    for dest, target in (getattr(args, OPTIONS, None) or {}).items():
        value = getattr(args, dest, None)
        if value is None:
            continue
        value = tuple(value) if isinstance(value, list) else value
        for section, name in (target, *links.get(dest, ())):
            out.setdefault(section, {})[name] = value
    return out


def apply_options(config: Any, args: argparse.Namespace) -> Any:
    """`config` with every option given on the command line replaced, nested sections too."""
    return replace_sections(config, given(args))


def replace_sections(config: Any, values: dict[str, dict[str, Any]], path: str = "") -> Any:
    changes = dict(values.get(path, {}))
    for f in fields(config):
        if is_dataclass(f.type):
            inner = f"{path}.{f.name}" if path else f.name
            if any(key == inner or key.startswith(inner + ".") for key in values):
                changes[f.name] = replace_sections(getattr(config, f.name), values, inner)
    return replace(config, **changes) if changes else config


def given_fields(args: argparse.Namespace) -> list[tuple[str, str, Any]]:
    """(section, field, value) of every config option given, for resume checks."""
    return [(section, name, value) for section, items in given(args).items()
            for name, value in items.items()]


def check_unchanged(base: Any, args: argparse.Namespace, may_change: set[str] | tuple) -> None:
    """Resuming: an option given on the command line must equal the checkpoint's value,
    unless its field may change (budgets, placement)."""
    from seqlm.errors import SeqlmError

    for section, name, value in given_fields(args):
        if name in may_change:
            continue
        owner = base
        for part in filter(None, section.split(".")):
            owner = getattr(owner, part)
        current = getattr(owner, name)
        if current != value:
            raise SeqlmError(
                f"--{name.replace('_', '-')} {show(value)} does not match the checkpoint's "
                f"{show(current)}: drop the option to resume, or start a new run")
