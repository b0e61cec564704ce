"""State commands as declared types.

Every command the state machine applies is an operation name, an argument type
and a handler: `Command(Args, handler)`, registered by the module that owns the
records (`COMMANDS = commands.table(...)`). The journal and the Raft log carry a
command's arguments as JSON; `decode` turns them into the declared type once, in
`ClusterState.apply`, before the handler runs. A field that is missing (and has
no default), of the wrong JSON type, or not a mapping where a nested type is
declared is INVALID_ARGUMENT naming the field, and the handler never sees it —
so a refused command has changed nothing. Keys the type does not declare are
ignored: a journal written by an older version may carry fields since dropped.

Types a field may declare: str, int, float (an int is accepted), bool, Any,
dict / dict[str, X], list[X], X | None, and nested argument dataclasses. A
field's default makes it optional; `None` as the default tells "absent" apart
from any value sent (`images: list[str] | None = None`).
"""
from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass
from typing import Any, Callable

from common.errors import InvalidArgument


@dataclass(frozen=True)
class Command:
    args: type
    handler: Callable


def table(**by_op: Command) -> dict[str, Command]:
    """{op: Command}; keyword names use "__" for the op's dot ("host__join")."""
    return {op.replace("__", "."): command for op, command in by_op.items()}


@functools.lru_cache(maxsize=None)
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name],
                  f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                 for f in dataclasses.fields(cls))


def decode(cls: type, raw: Any, path: str = ""):
    """An instance of the argument dataclass `cls` from JSON `raw`, or InvalidArgument."""
    if not isinstance(raw, dict):
        raise InvalidArgument(path or "args", "must be a mapping")
    values = {}
    for name, hint, required in _fields(cls):
        where = f"{path}.{name}" if path else name
        if name in raw:
            values[name] = _value(hint, raw[name], where)
        elif required:
            raise InvalidArgument(where, "is required")
    return cls(**values)


def _value(hint, value, where: str):
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _value(option, value, where)
            except InvalidArgument as err:
                errors.append(err)
        raise errors[0]
    if dataclasses.is_dataclass(hint):
        return decode(hint, value, where)
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise InvalidArgument(where, "must be true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)       # JSON written from a float that holds a whole number
        raise InvalidArgument(where, "must be a whole number")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        raise InvalidArgument(where, "must be a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise InvalidArgument(where, "must be a string")
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise InvalidArgument(where, "must be a mapping")
        args = typing.get_args(hint)
        if not args:
            return value
        return {_value(args[0], k, f"{where} key"): _value(args[1], v, f"{where}.{k}") for k, v in value.items()}
    if hint is list or origin is list:
        if not isinstance(value, list):
            raise InvalidArgument(where, "must be a list")
        args = typing.get_args(hint)
        if not args:
            return value
        return [_value(args[0], item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{where}: argument types cannot declare {hint!r}")


def encode(args) -> dict:
    """The JSON form of an argument dataclass (what a proposer sends)."""
    return dataclasses.asdict(args)
