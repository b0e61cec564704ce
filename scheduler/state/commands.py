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


@dataclass(frozen=True)
class IdArgs:
    """The arguments of every command that names one record by its id."""

    id: str


@dataclass(frozen=True)
class NoArgs:
    """The arguments of a command that takes none."""


def table(**by_op: Command) -> dict[str, Command]:
    """{op: Command}; keyword names use "__" for the op's dot ("host__join")."""
    return {op.replace("__", "."): command for op, command in by_op.items()}


@functools.lru_cache(maxsize=None)
def _fields(cls: type) -> tuple[tuple[str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    return tuple((f.name, hints[f.name],
                  f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                 for f in dataclasses.fields(cls))


@functools.lru_cache(maxsize=None)
def _plan(cls: type) -> tuple[tuple[str, Callable, bool], ...]:
    """Each field's name, its compiled check and whether it is required: the type
    hints are read once per argument type, not on every command."""
    return tuple((name, _checker(hint), required) for name, hint, required in _fields(cls))


def decode(cls: type, raw: Any, path: str = ""):
    """An instance of the argument dataclass `cls` from JSON `raw`, or InvalidArgument."""
    if not isinstance(raw, dict):
        raise InvalidArgument(path or "args", "must be a mapping")
    values = {}
    for name, check, required in _plan(cls):
        if name in raw:
            values[name] = check(raw[name], f"{path}.{name}" if path else name)
        elif required:
            raise InvalidArgument(f"{path}.{name}" if path else name, "is required")
    return cls(**values)


def _any(value, where):
    return value


def _bool(value, where):
    if value is True or value is False:
        return value
    raise InvalidArgument(where, "must be true or false")


def _int(value, where):
    kind = type(value)
    if kind is int:
        return value
    if kind is float and value.is_integer():
        return int(value)       # JSON written from a float that holds a whole number
    raise InvalidArgument(where, "must be a whole number")


def _float(value, where):
    kind = type(value)
    if kind is int or kind is float:
        return value
    raise InvalidArgument(where, "must be a number")


def _str(value, where):
    if type(value) is str:
        return value
    raise InvalidArgument(where, "must be a string")


_SCALARS = {bool: _bool, int: _int, float: _float, str: _str}


@functools.lru_cache(maxsize=None)
def _checker(hint) -> Callable:
    """A function (value, where) -> value for `hint`, raising InvalidArgument."""
    if hint is Any:
        return _any
    if hint in _SCALARS:
        return _SCALARS[hint]
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [_checker(o) for o in typing.get_args(hint) if o is not type(None)]
        nullable = type(None) in typing.get_args(hint)

        def union(value, where):
            if value is None and nullable:
                return None
            first = None
            for option in options:
                try:
                    return option(value, where)
                except InvalidArgument as err:
                    first = first or err
            raise first
        return union
    if dataclasses.is_dataclass(hint):
        return lambda value, where: decode(hint, value, where)
    if hint is dict or origin is dict:
        args = typing.get_args(hint)
        if not args or args[1] is Any and args[0] is str:
            def plain_mapping(value, where):
                if type(value) is not dict:
                    raise InvalidArgument(where, "must be a mapping")
                if args:
                    for key in value:
                        if type(key) is not str:
                            raise InvalidArgument(f"{where} key", "must be a string")
                return value
            return plain_mapping
        key_check, value_check = _checker(args[0]), _checker(args[1])

        def mapping(value, where):
            if type(value) is not dict:
                raise InvalidArgument(where, "must be a mapping")
            copied = None           # a new dict only when a value was converted
            for k, v in value.items():
                key_check(k, where + " key")
                try:
                    checked = value_check(v, where)
                except InvalidArgument:
                    checked = value_check(v, f"{where}.{k}")    # raises again, naming the key
                if checked is not v:
                    copied = copied if copied is not None else dict(value)
                    copied[k] = checked
            return value if copied is None else copied
        return mapping
    if hint is list or origin is list:
        args = typing.get_args(hint)
        item_check = _checker(args[0]) if args else None

        def sequence(value, where):
            if type(value) is not list:
                raise InvalidArgument(where, "must be a list")
            if item_check is None:
                return value
            copied = None
            for i, item in enumerate(value):
                try:
                    checked = item_check(item, where)
                except InvalidArgument:
                    checked = item_check(item, f"{where}[{i}]")  # raises again, naming the item
                if checked is not item:
                    copied = copied if copied is not None else list(value)
                    copied[i] = checked
            return value if copied is None else copied
        return sequence
    raise TypeError(f"argument types cannot declare {hint!r}")
