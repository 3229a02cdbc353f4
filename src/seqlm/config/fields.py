"""Checked config fields: every config dataclass validates its own values on construction.

A field declares its allowed range next to its default, `opt(3e-3, gt=0)`, and the type in
its annotation is enforced (`int` refuses 2.5 and "big"; `float` takes ints; `X | None`,
`tuple[float, ...]` and nested configs are understood). Construction fails with a
`ConfigError` naming the field, the value and what is allowed, whether the values came from
the command line, a JSON config file or a checkpoint. A class may add cross-field rules in
`check(self)`. `to_dict` / `from_dict` are the JSON round trip of manifests and checkpoints;
`merge` lays partial overrides (a preset) over a config.
Leaves out: units in values ("500M" is parsed by the command that takes it).
"""

import math
import operator
import types
import typing
from dataclasses import MISSING, asdict, field, fields, is_dataclass
from typing import Any, TypeVar

from seqlm.errors import ConfigError

T = TypeVar("T")
# how an experiment's command names fields of the run it contains: field path ("train.seed")
# -> (flag, help in the experiment's words; None keeps the field's own help). Read by
# `seqlm.cli.config_args.add_path_options`; the experiment config holds it as `OPTIONS`.
Options = dict[str, tuple[str, str | None]]


def opt(default: Any = MISSING, *, factory: Any = MISSING, gt: float | None = None,
        ge: float | None = None, lt: float | None = None, le: float | None = None,
        choices: tuple | None = None, help: str | None = None) -> Any:  # noqa: A002
    """A dataclass field with its allowed range: bounds apply to numbers (and to each item of
    a tuple of numbers), `choices` to strings (and to each item of a tuple of strings)."""
    checks = {k: v for k, v in dict(gt=gt, ge=ge, lt=lt, le=le, choices=choices,
                                    help=help).items() if v is not None}
    if factory is not MISSING:
        return field(default_factory=factory, metadata=checks)
    return field(default=default, metadata=checks)


class Config:
    """Base of every config dataclass: validates the fields after `__init__`."""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            value = coerce(f.name, getattr(self, f.name), f.type)
            check_range(f.name, value, f.metadata)
            object.__setattr__(self, f.name, value)  # frozen: set the coerced value once
        self.check()

    def check(self) -> None:
        """Cross-field rules; raise `ConfigError`."""


def type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return {"int": "an integer", "float": "a number", "str": "a string",
                "bool": "true or false"}.get(tp.__name__, f"a {tp.__name__} object")
    return str(tp).replace("typing.", "")


def coerce(name: str, value: Any, tp: Any) -> Any:
    """`value` as type `tp`, or a ConfigError; ints become floats, lists tuples, dicts
    nested configs."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (types.UnionType, typing.Union):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return coerce(name, value, inner[0] if len(inner) == 1 else Any)
    if tp is Any:
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(name, value, "is not a list")
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args
        if len(items) != len(value):
            raise ConfigError(name, value, f"must hold {len(items)} values")
        return tuple(coerce(name, v, t) for v, t in zip(value, items, strict=True))
    if is_dataclass(tp):
        if isinstance(value, dict):
            try:
                return from_dict(tp, value)
            except ConfigError as e:
                raise e.within(name) from None
        if not isinstance(value, tp):
            raise ConfigError(name, value, f"is not an object of {tp.__name__} fields")
        return value
    return coerce_scalar(name, value, tp)


def coerce_scalar(name: str, value: Any, tp: type) -> Any:
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(name, value, "is not true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(name, value, "is not an integer: give a whole number")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(name, value, "is not a number")
        if not math.isfinite(value):
            raise ConfigError(name, value, "is not a finite number")
        return float(value)
    if tp is str and not isinstance(value, str):
        raise ConfigError(name, value, "is not a string")
    return value


def check_range(name: str, value: Any, rules: typing.Mapping[str, Any]) -> None:
    """The field's bounds and choices, on the value or on each item of a tuple."""
    for item in value if isinstance(value, tuple) else (value,):
        if item is None:
            continue
        if "choices" in rules and item not in rules["choices"]:
            raise ConfigError(name, item, "is not a choice: choose one of "
                              + ", ".join(str(c) if c != "" else "''" for c in rules["choices"]))
        if isinstance(item, bool) or not isinstance(item, int | float):
            continue
        broken = [rule for rule, ok in (("gt", operator.gt), ("ge", operator.ge),
                                        ("lt", operator.lt), ("le", operator.le))
                  if rule in rules and not ok(item, rules[rule])]
        if broken:
            raise ConfigError(name, item, f"is out of range: choose a value {allowed(rules)}")


def allowed(rules: typing.Mapping[str, Any]) -> str:
    """'from 1 to 8', '> 0', 'in [0, 1)': the range the bounds allow, in words."""
    low = ("ge", rules["ge"]) if "ge" in rules else ("gt", rules["gt"]) if "gt" in rules else None
    high = ("le", rules["le"]) if "le" in rules else ("lt", rules["lt"]) if "lt" in rules else None
    if low and high:
        if low[0] == "ge" and high[0] == "le":
            return f"from {low[1]:g} to {high[1]:g}"
        return f"in {'[' if low[0] == 'ge' else '('}{low[1]:g}, {high[1]:g}" \
               f"{']' if high[0] == 'le' else ')'}"
    words = {"gt": ">", "ge": ">=", "lt": "<", "le": "<="}
    rule, bound = low or high  # type: ignore[misc]
    return f"{words[rule]} {bound:g}"


def to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a (nested) config dataclass; tuples become lists on dumping."""
    if not is_dataclass(config):
        raise TypeError(f"not a config dataclass: {config!r}")
    return asdict(config)


def from_dict(cls: type[T], data: Any, source: str | None = None) -> T:
    """Rebuild `cls` from `to_dict` output (or a JSON config file's object); unknown keys,
    missing keys and bad values are a ConfigError naming the field (and `source`)."""
    if not isinstance(data, dict):
        raise ConfigError(cls.__name__, data, f"is not an object of {cls.__name__} fields",
                          source)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(unknown[0], data[unknown[0]], f"is not a field of {cls.__name__} "
                          f"(known: {', '.join(known)})", source)
    missing = [n for n, f in known.items() if n not in data and f.default is MISSING
               and f.default_factory is MISSING]
    if missing:
        raise ConfigError(missing[0], None, f"is required by {cls.__name__}", source)
    try:
        return cls(**data)
    except ConfigError as e:
        raise e.within(source=source) from None


def merge(config: T, *overrides: dict[str, Any]) -> T:
    """`config` with each dict of partial overrides laid over it in turn, nested configs
    field by field (`{"train": {"engine": {"max_steps": 40}}}` changes that field alone).
    Every preset is written this one way: a dict states only what differs from its base, has
    the shape of a JSON config file and a manifest, and goes through `from_dict`'s checks."""
    data = to_dict(config)
    for over in overrides:
        data = layered(data, over)
    return from_dict(type(config), data)


def layered(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid over `base`: dicts merge key by key, any other value replaces."""
    return {k: layered(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict)
            else v for k, v in {**base, **over}.items()}
