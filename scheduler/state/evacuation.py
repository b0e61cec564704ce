"""Evacuations in the state machine: the record of emptying a host, and its moves.

`state.evacuations` holds the latest evacuation of each host (by host id). The
proposer decides the plan (which instances can move, and why the others cannot)
and each move's new host; apply checks what it can against the state it commits
on: the host exists, another host is up and taking instances, a move is still
from the evacuated host and passes the same checks as a create
(`placement.relocate`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from common.errors import FailedPrecondition, InvalidArgument, NotFound
from scheduler.rules import groups as g
from scheduler.state import placement
from scheduler.state import records as r
from scheduler.state.commands import Command, table

RUNNING, DONE, CANCELLED = "running", "done", "cancelled"
PLANNED, MOVING, MOVED, FAILED, BLOCKED, GONE = "planned", "moving", "moved", "failed", "blocked", "gone"
ITEM_STATUSES = (PLANNED, MOVING, MOVED, FAILED, BLOCKED, GONE)
OPEN = (PLANNED, MOVING)        # an evacuation ends when no item is in one of these
MAX_PARALLEL = 64


@dataclass(frozen=True)
class EvacuationItem:
    """What the plan says of one instance of the evacuated host."""
    status: str                             # one of ITEM_STATUSES
    name: str = ""
    project: str = ""
    reason: str = ""
    to_host_id: str = ""
    attempts: int = 0


@dataclass(frozen=True)
class EvacuateArgs:
    id: str                                 # the host
    evacuation_id: str
    parallel: int
    items: dict[str, EvacuationItem]        # by instance id


@dataclass(frozen=True)
class ProgressArgs:
    host_id: str
    evacuation_id: str
    items: dict[str, EvacuationItem] = field(default_factory=dict)   # the items that changed
    finish: str = ""                        # "", DONE or CANCELLED


@dataclass(frozen=True)
class EvacuateInstanceArgs:
    id: str                                 # the instance
    from_host_id: str
    to_host_id: str
    evacuation_id: str
    overcommit: dict[str, float] = field(default_factory=dict)
    reserved: dict[str, float] = field(default_factory=dict)


def running(state, host_id: str) -> dict | None:
    record = state.evacuations.get(host_id)
    return record if record is not None and record["state"] == RUNNING else None


def other_targets(state, host_id: str) -> tuple[int, int]:
    """(other hosts up, of those taking new instances)."""
    up = [h for h in state.hosts.values() if h["id"] != host_id and h.get("state") == r.HOST_UP]
    return len(up), sum(1 for h in up if placement.schedulable(h) == g.ACTIVE)


def check_somewhere_to_go(state, host: dict) -> None:
    """FAILED_PRECONDITION unless some other host is up and takes new instances."""
    up, active = other_targets(state, host["id"])
    if not up:
        raise FailedPrecondition(f"host {host['name']} is the only host up: there is nowhere to move "
                                 f"its instances")
    if not active:
        raise FailedPrecondition(f"no other host takes new instances ({up} other host(s) up, all "
                                 f"cordoned, draining or in maintenance)")


def _item_record(item: EvacuationItem) -> dict:
    if item.status not in ITEM_STATUSES:
        raise InvalidArgument("items", f"unknown status {item.status!r}")
    return {"name": item.name, "project": item.project, "status": item.status, "reason": item.reason,
            "to_host_id": item.to_host_id, "attempts": item.attempts}


def start(state, args: EvacuateArgs, ctx: dict) -> dict:
    """Cordon the host (unless it already takes no new instances) and record the plan."""
    host = state.hosts.get(args.id)
    if host is None:
        raise NotFound(f"host {args.id} not found")
    current = running(state, host["id"])
    if current is not None:
        return {"evacuation": copy.deepcopy(current), "already": True}
    check_somewhere_to_go(state, host)
    parallel = args.parallel
    if not 1 <= parallel <= MAX_PARALLEL:
        raise InvalidArgument("parallel", f"must be between 1 and {MAX_PARALLEL}")
    items = {instance_id: _item_record(item) for instance_id, item in sorted(args.items.items())}
    for instance_id in items:
        if instance_id not in state.instances:
            raise FailedPrecondition(f"instance {instance_id} no longer exists")
    record = {"id": args.evacuation_id, "host_id": host["id"], "host_name": host["name"],
              "state": RUNNING, "parallel": parallel, "started_ms": ctx["ts"], "finished_ms": 0,
              "items": items, "revision": ctx["index"]}
    if not any(item["status"] in OPEN for item in items.values()):
        record["state"], record["finished_ms"] = DONE, ctx["ts"]
    if placement.schedulable(host) == g.ACTIVE:
        host["schedulable"] = "cordoned"
        host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    state.evacuations[host["id"]] = record
    return {"evacuation": copy.deepcopy(record)}


def _record(state, host_id: str, evacuation_id: str) -> dict:
    """The host's running evacuation `evacuation_id`, or FAILED_PRECONDITION."""
    record = state.evacuations.get(host_id)
    if record is None or record["id"] != evacuation_id:
        raise FailedPrecondition(f"evacuation {evacuation_id} is not the host's current one")
    if record["state"] != RUNNING:
        raise FailedPrecondition(f"evacuation {record['id']} is {record['state']}")
    return record


def move(state, args: EvacuateInstanceArgs, ctx: dict) -> dict:
    """Move one planned instance off the evacuated host (checked like a create)."""
    record = _record(state, args.from_host_id, args.evacuation_id)
    item = record["items"].get(args.id)
    if item is None or item["status"] != PLANNED:
        raise FailedPrecondition(f"instance {args.id} is not planned to move in evacuation {record['id']}")
    result = placement.relocate(state, args.id, args.from_host_id, args.to_host_id,
                                args.overcommit, args.reserved,
                                f"evacuated from {record['host_name']}", ctx)
    item.update(status=MOVING, reason="", to_host_id=args.to_host_id)
    record["revision"] = ctx["index"]
    return result


def progress(state, args: ProgressArgs, ctx: dict) -> dict:
    """Item changes the leader observed; `finish` ends the evacuation ("done" or "cancelled")."""
    record = _record(state, args.host_id, args.evacuation_id)
    updates = {k: _item_record(v) for k, v in args.items.items()}
    finish = args.finish
    if finish not in ("", DONE, CANCELLED):
        raise InvalidArgument("finish", f"must be {DONE!r} or {CANCELLED!r}")
    merged = {**record["items"], **updates}
    if finish == DONE and any(item["status"] in OPEN for item in merged.values()):
        raise FailedPrecondition(f"evacuation {record['id']} still has instances to move")
    record["items"] = merged
    if finish:
        record["state"], record["finished_ms"] = finish, ctx["ts"]
    record["revision"] = ctx["index"]
    return {"evacuation": copy.deepcopy(record)}


COMMANDS = table(
    host__evacuate=Command(EvacuateArgs, start),
    host__evacuation_progress=Command(ProgressArgs, progress),
    instance__evacuate=Command(EvacuateInstanceArgs, move),
)
