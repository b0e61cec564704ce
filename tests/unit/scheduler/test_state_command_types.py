"""Every state command declares its argument type (scheduler/state/commands.py), and
a command refused for its arguments changes nothing: each declared command is
replayed against a populated state with its arguments missing, each required field
left out and each field of the wrong type, and the state is compared before and
after."""
from __future__ import annotations

import dataclasses
import types
import typing

import pytest

from scheduler.state import commands
from scheduler.state.machine import COMMANDS, ClusterState
from state_world import StateWorld

MiB = 1024**2

# Commands whose arguments are not declared yet (issue 15 converts them module by
# module); this set may only shrink, and a new command must declare its type.
UNDECLARED = frozenset(op for op, command in COMMANDS.items() if not isinstance(command, commands.Command))


def populated() -> ClusterState:
    world = StateWorld()
    apply = world.ok
    for i in (1, 2):
        apply("host.join", {"id": f"h-{i}", "name": f"node-{i}", "address": f"127.0.0.1:{i}",
                            "capacity": {"vcpus": 8, "memory_bytes": 4096 * MiB, "disk_bytes": 0},
                            "labels": {"zone": f"z{i}"}})
    apply("group.create", {"id": "g-1", "project": "default", "name": "web", "policy": "spread",
                           "domain": "zone", "max_per_domain": 0, "soft": False})
    apply("instance.create", {"id": "i-1", "name": "web-1", "project": "default", "host_id": "h-1",
                              "spec": {"image": "busybox", "vcpus": 1, "memory_bytes": 64 * MiB,
                                       "disk_bytes": 0, "group": "web"}})
    return world.state


def _wrong(hint):
    """A JSON value `hint` refuses."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(hint) if a is not type(None)][0]
        return _wrong(inner)
    if hint is str:
        return 5
    if hint in (int, float):
        return "five"
    if hint is bool:
        return "yes"
    if hint is dict or origin is dict:
        return ["not", "a", "mapping"]
    if hint is list or origin is list:
        return {"not": "a list"}
    if dataclasses.is_dataclass(hint):
        return "not a mapping"
    return None            # Any: every value is accepted


def _valid(hint):
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return None
    if dataclasses.is_dataclass(hint):      # a nested argument type: its required fields too
        return {name: _valid(inner) for name, inner, required in commands._fields(hint) if required}
    return {str: "x", int: 1, float: 1.0, bool: True}.get(hint, {} if (hint is dict or origin is dict or
                                                                    dataclasses.is_dataclass(hint)) else [])


def variants(args_type):
    """(what, args) pairs that the decoder must refuse."""
    fields = commands._fields(args_type)
    complete = {name: _valid(hint) for name, hint, _ in fields}
    yield "not a mapping", ["x"]
    yield "empty", {} if any(required for _, _, required in fields) else None
    for name, hint, required in fields:
        if required:
            yield f"without {name}", {k: v for k, v in complete.items() if k != name}
        wrong = _wrong(hint)
        if wrong is not None:
            yield f"{name} of the wrong type", {**complete, name: wrong}


DECLARED = sorted(op for op, command in COMMANDS.items() if isinstance(command, commands.Command))


@pytest.mark.parametrize("op", DECLARED)
def test_a_command_refused_for_its_arguments_changes_nothing(op):
    state = populated()
    before = state.to_dict()
    for what, args in variants(COMMANDS[op].args):
        if args is None:
            continue
        result = state.apply(op, args, {"rid": "x", "ts": 2_000_000, "index": 99})
        assert result.get("error", {}).get("code") == "INVALID_ARGUMENT", (op, what, result)
        assert state.to_dict() == before, (op, what)


def test_every_command_declares_its_argument_type():
    assert UNDECLARED == frozenset()


def test_every_declared_argument_type_is_decodable():
    for op, command in COMMANDS.items():
        commands._plan(command.args)                # a hint the decoder cannot check raises here
        complete = {name: _valid(hint) for name, hint, _ in commands._fields(command.args)}
        assert isinstance(commands.decode(command.args, complete), command.args), op


@pytest.mark.parametrize("op", DECLARED)
def test_a_well_formed_command_the_state_refuses_changes_nothing(op):
    """Arguments of the right types naming nothing that exists ("x" for every string):
    the handler refuses them, or does its work — refused, nothing has changed."""
    state = populated()
    before = state.to_dict()
    args = {name: _valid(hint) for name, hint, _ in commands._fields(COMMANDS[op].args)}
    result = state.apply(op, args, {"rid": "x", "ts": 2_000_000, "index": 99})
    if "error" in result:
        assert state.to_dict() == before, (op, result)
