"""Commands on hosts: join, heartbeat, mark down, health as the leader sees it."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import InvalidArgument, NotFound
from scheduler.state import records as r
from scheduler.state.commands import Command, table


@dataclass(frozen=True)
class Capacity:
    vcpus: float = 0
    memory_bytes: int = 0
    disk_bytes: int = 0


@dataclass(frozen=True)
class JoinArgs:
    id: str
    name: str
    address: str
    capacity: Capacity
    drivers: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    agent_version: str = ""
    images: list[str] = field(default_factory=list)
    vtep: str = ""


@dataclass(frozen=True)
class HeartbeatArgs:
    id: str
    usage: dict = field(default_factory=dict)
    images: list[str] | None = None          # absent: keep what the host reported before
    capacity: Capacity | None = None


@dataclass(frozen=True)
class MarkDownArgs:
    id: str
    ttl_ms: int


@dataclass(frozen=True)
class SetHealthArgs:
    id: str
    unhealthy: str = ""


def _resources(capacity: Capacity) -> dict:
    return r.resources(vcpus=capacity.vcpus, memory_bytes=capacity.memory_bytes,
                       disk_bytes=capacity.disk_bytes)


def join(state, args: JoinArgs, ctx: dict) -> dict:
    """Register a host, or refresh it when one of that name already joined (it keeps its id)."""
    name = args.name
    host_id = state.host_names.get(name)
    if host_id is None:
        host_id = args.id
        if host_id in state.hosts:
            raise InvalidArgument("id", f"host id {host_id} already in use")
        state.hosts[host_id] = {
            "id": host_id, "name": name, "created_ms": ctx["ts"],
            "allocated": r.resources(), "usage": {}, "last_heartbeat_ms": ctx["ts"],
        }
        state.host_names[name] = host_id
    host = state.hosts[host_id]
    host.update({
        "address": args.address,
        "capacity": _resources(args.capacity),
        "drivers": list(args.drivers),
        # Labels an operator set (`cloud host label`) win over the agent's config.
        "labels": {**args.labels, **host.get("operator_labels", {})},
        "agent_labels": dict(args.labels),
        "agent_version": args.agent_version,
        "images": sorted(args.images),
        "vtep": args.vtep,
        "state": r.HOST_UP, "reason": "", "unhealthy": "",
        "last_heartbeat_ms": ctx["ts"],
        "updated_ms": ctx["ts"], "revision": ctx["index"],
    })
    return {"host_id": host_id}


def heartbeat(state, args: HeartbeatArgs, ctx: dict) -> dict:
    host = state.hosts.get(args.id)
    if host is None:
        raise NotFound(f"host {args.id} is not registered; join again")
    host["last_heartbeat_ms"] = max(host["last_heartbeat_ms"], ctx["ts"])
    host["usage"] = dict(args.usage)
    if args.images is not None:
        host["images"] = sorted(args.images)
    if args.capacity is not None and args.capacity != Capacity():
        host["capacity"] = _resources(args.capacity)
    if host["state"] != r.HOST_UP:
        host["state"], host["reason"] = r.HOST_UP, ""
        host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    return {"state": host["state"]}


def mark_down(state, args: MarkDownArgs, ctx: dict) -> dict:
    """Mark a host down if it has still not been heard from for `ttl_ms` at `ts`.

    Its instances become LOST; rescheduling them is the reconciler's decision.
    """
    host = state.hosts.get(args.id)
    if host is None:
        raise NotFound(f"host {args.id} not found")
    silent_ms = ctx["ts"] - host["last_heartbeat_ms"]
    if host["state"] == r.HOST_DOWN or silent_ms < args.ttl_ms:
        return {"state": host["state"], "changed": False}
    host["state"] = r.HOST_DOWN
    host["reason"] = f"no heartbeat for {silent_ms / 1000:.1f}s"
    host["unhealthy"] = ""          # down says more; health is judged again once it is back
    host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    for instance in state.instances_on(host["id"]):
        if instance["state"] not in (r.DELETING,):
            instance["state"] = r.LOST
            instance["reason"] = f"host {host['name']} is down"
            instance["updated_ms"], instance["revision"] = ctx["ts"], ctx["index"]
    return {"state": host["state"], "changed": True}


def set_health(state, args: SetHealthArgs, ctx: dict) -> dict:
    """Record whether the leader's calls to the host's agent work.

    A host can heartbeat (it reaches the schedulers) while the leader cannot reach
    it, or its agent hangs on its engine: such a host is up but `unhealthy` (the
    reason, or "" when healthy again) and takes no new placements."""
    host = state.hosts.get(args.id)
    if host is None:
        raise NotFound(f"host {args.id} not found")
    reason = args.unhealthy
    if host["state"] != r.HOST_UP or host.get("unhealthy", "") == reason:
        return {"unhealthy": host.get("unhealthy", ""), "changed": False}
    host["unhealthy"] = reason
    host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    return {"unhealthy": reason, "changed": True}


COMMANDS = table(
    host__join=Command(JoinArgs, join),
    host__heartbeat=Command(HeartbeatArgs, heartbeat),
    host__mark_down=Command(MarkDownArgs, mark_down),
    host__set_health=Command(SetHealthArgs, set_health),
)
