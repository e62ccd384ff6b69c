"""Does a value from a file fit the type its dataclass field declares?

Config and run files are read into dataclasses, which keep whatever they are given: a
section whose text is a number, a learning rate that is a word. `fits` checks a value
against a field's annotation (the simple types, Optional, unions, Literal, enums, lists,
dicts), so a damaged file is named when it is read, not by a traceback later.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import types
import typing

LARGEST_INT = 2**62  # beyond any count a run can reach; larger ones overflow torch's int64 tensors


def build(cls, data, where: str):
    """`cls(**data)` for a dataclass read from a file, ignoring unknown keys; a value that is not an
    object, a missing field or a value of the wrong type is a UsageError that starts with `where`."""
    from .errors import UsageError

    if not isinstance(data, dict):
        raise UsageError(f"{where}: expected a JSON object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for name, field in fields.items():
        if name in data and not fits(data[name], hints.get(name)):
            raise UsageError(f"{where}: {name}: expected {describe(hints[name])}, got {data[name]!r:.60}")
        needed = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        if needed and name not in data:
            raise UsageError(f"{where}: missing {name!r}")
    return cls(**{k: v for k, v in data.items() if k in fields})


def _options(kind) -> tuple:
    origin = typing.get_origin(kind)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(kind)
    return (kind,)


def accepts(kind, simple: type) -> bool:
    return any(option is simple for option in _options(kind))


def fits(value, kind) -> bool:
    if kind is None or kind is typing.Any:
        return True
    return any(_fits_one(value, option) for option in _options(kind))


def _fits_one(value, kind) -> bool:
    origin = typing.get_origin(kind)
    if kind is type(None):
        return value is None
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= LARGEST_INT
    if kind is float:
        return (isinstance(value, (int, float)) and not isinstance(value, bool)
                and math.isfinite(value) and abs(value) <= LARGEST_INT)
    if kind is str:
        return isinstance(value, str)
    if origin is typing.Literal:
        return value in typing.get_args(kind)
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return isinstance(value, kind) or value in {member.value for member in kind}
    if origin in (list, tuple) or kind in (list, tuple):
        inner = typing.get_args(kind)
        return isinstance(value, (list, tuple)) and (not inner or all(fits(v, inner[0]) for v in value))
    if origin is dict or kind is dict:
        return isinstance(value, dict)
    return True  # a type we do not model: TRL's own validation decides


def describe(kind) -> str:
    names = []
    for option in _options(kind):
        if option is type(None):
            names.append("null")
        elif typing.get_origin(option) is typing.Literal:
            names.append(" or ".join(repr(a) for a in typing.get_args(option)))
        elif isinstance(option, type) and issubclass(option, enum.Enum):
            names.append("one of " + ", ".join(repr(m.value) for m in option))
        else:
            names.append(getattr(option, "__name__", str(option)))
    return " or ".join(names)
