"""Checks of the Agent API's requests: each raises InvalidArgument naming the bad field."""
from __future__ import annotations

import re

from agent.compute.base import DESIRED_STATES, RESTART_POLICIES
from agent.host_spec import RequestedSpec
from common.errors import InvalidArgument
from common.ids import check_name
from proto.v1 import agent_pb2

# Instance ids name runtime objects (containers, domains): keep them to what every engine accepts.
_INSTANCE_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}\Z")
KINDS = ("container", "vm")


def check_instance_id(value: str, field: str = "instance_id") -> str:
    if not value:
        raise InvalidArgument(field, "is required")
    if not _INSTANCE_ID_RE.match(value):
        raise InvalidArgument(field, f"{value!r} is not a valid instance id "
                                     "(letters, digits, '.', '_' or '-', at most 128)")
    return value


def check_ensure(request: agent_pb2.EnsureInstanceRequest, wanted: RequestedSpec) -> None:
    """The request and its host spec (`wanted`, from agent.host_spec.requested)."""
    check_instance_id(request.instance_id)
    if request.name:
        check_name(request.name, "name")
    if request.project:
        check_name(request.project, "project")
    if request.desired_state not in DESIRED_STATES:
        raise InvalidArgument("desired_state", f"must be 'running' or 'stopped', not "
                                               f"{request.desired_state!r}")
    spec, field = wanted.spec, wanted.field
    if spec.kind and spec.kind not in KINDS:
        raise InvalidArgument(field("kind"), f"{spec.kind!r} is not supported by this agent "
                                             f"(supported: {', '.join(KINDS)})")
    if not spec.image.strip():
        raise InvalidArgument(field("image"), "is required")
    if spec.vcpus <= 0:
        raise InvalidArgument(field("vcpus"), f"must be positive, not {spec.vcpus}")
    if spec.memory_bytes <= 0:
        raise InvalidArgument(field("memory_bytes"), f"must be positive, not {spec.memory_bytes}")
    if spec.disk_bytes < 0:
        raise InvalidArgument(field("disk_bytes"), f"must not be negative, not {spec.disk_bytes}")
    if spec.restart_policy and spec.restart_policy not in RESTART_POLICIES:
        raise InvalidArgument(field("restart_policy"), f"must be one of {', '.join(RESTART_POLICIES)}, "
                                                       f"not {spec.restart_policy!r}")
    for key in spec.env:
        if not key or "=" in key or "\0" in key:
            raise InvalidArgument(field("env"), f"invalid variable name {key!r}")
    if any("\0" in arg for arg in spec.command):
        raise InvalidArgument(field("command"), "must not contain NUL characters")
    if any("\0" in value for value in spec.env.values()):
        raise InvalidArgument(field("env"), "must not contain NUL characters")


def check_remove(request: agent_pb2.RemoveInstanceRequest) -> None:
    check_instance_id(request.instance_id)


def check_logs(request: agent_pb2.AgentInstanceLogsRequest) -> None:
    check_instance_id(request.instance_id)
    if request.tail_lines < 0:
        raise InvalidArgument("tail_lines", f"must not be negative, not {request.tail_lines}")
