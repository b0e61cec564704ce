"""What agents report of their instances, as state commands.

Shared by the reconciler (EnsureInstance and ListInstances answers) and the Node
API (heartbeats): both turn an `ObservedInstance` into the arguments of an
`instance.observe` command and write it only when it changes the record.
"""
from __future__ import annotations

from proto.v1 import resources_pb2 as pb
from scheduler.state import records as r

_INSTANCE_STATES = {
    r.PENDING: pb.INSTANCE_STATE_PENDING, r.RUNNING: pb.INSTANCE_STATE_RUNNING,
    r.STOPPED: pb.INSTANCE_STATE_STOPPED, r.FAILED: pb.INSTANCE_STATE_FAILED,
    r.DELETING: pb.INSTANCE_STATE_DELETING, r.LOST: pb.INSTANCE_STATE_LOST,
}
_STATE_NAMES = {value: key for key, value in _INSTANCE_STATES.items()}


def state_to_pb(state: str) -> int:
    """A record's instance state as the proto enum (UNSPECIFIED for an unknown one)."""
    return _INSTANCE_STATES.get(state, pb.INSTANCE_STATE_UNSPECIFIED)


def state_from_pb(value: int) -> str:
    """An agent's reported state as the record's; an unknown value is FAILED."""
    return _STATE_NAMES.get(value, r.FAILED)


def observed_args(host_id: str, observed, generation: int | None = None) -> dict:
    """The `instance.observe` arguments for what `host_id` reports of one instance;
    `generation` when the report answers an ensure of that desired generation."""
    args = {"id": observed.instance_id, "host_id": host_id,
            "state": state_from_pb(observed.state), "runtime_id": observed.runtime_id,
            "reason": observed.reason, "started_ms": observed.started_at_ms,
            "finished_ms": observed.finished_at_ms, "exit_code": observed.exit_code}
    if observed.cpu_time_ns or observed.memory_used_bytes:
        # VM stats; the agent samples them every few seconds, so they do not make
        # every heartbeat a Raft write. Containers report none and write nothing extra.
        args.update(cpu_time_ns=observed.cpu_time_ns, memory_used_bytes=observed.memory_used_bytes)
    if generation is not None:
        args["generation"] = generation
    return args


def differs(instance: dict, args: dict) -> bool:
    """Whether writing `args` (observed_args) would change the instance record."""
    return any(instance.get(key) != value for key, value in args.items()
               if key not in ("id", "host_id", "generation"))
