"""Moving an instance off a host that is down: the identity stays, the host changes.

The leader's reconciler decides the new host (the same planner as a create) and
proposes `instance.reschedule`; apply checks that the move still makes sense —
the instance is still LOST on the host it was on and that host is still down —
then moves it exactly like a drain does (`placement.relocate`: the new host is
checked like a create — mode, capacity, constraints, group rules)."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import FailedPrecondition, NotFound
from scheduler.state import placement
from scheduler.state import records as r
from scheduler.state.commands import Command, table


@dataclass(frozen=True)
class RescheduleArgs:
    id: str
    from_host_id: str
    host_id: str                             # the new host
    overcommit: dict[str, float] = field(default_factory=dict)
    reserved: dict[str, float] = field(default_factory=dict)


def reschedule(state, args: RescheduleArgs, ctx: dict) -> dict:
    instance = state.instances.get(args.id)
    if instance is None:
        raise NotFound(f"instance {args.id} not found")
    if instance["host_id"] != args.from_host_id or instance["state"] != r.LOST:
        raise FailedPrecondition(f"instance {instance['name']} is no longer lost on {args.from_host_id}")
    old = state.hosts.get(instance["host_id"])
    if old is not None and old["state"] != r.HOST_DOWN:
        raise FailedPrecondition(f"host {old['name']} is back; its instances stay")
    old_name = old["name"] if old else args.from_host_id
    result = placement.relocate(state, args.id, args.from_host_id, args.host_id, args.overcommit,
                                args.reserved, f"rescheduled from {old_name} (host down)", ctx)
    moved = state.instances[args.id]
    moved["reschedules"] = moved.get("reschedules", 0) + 1
    return result


COMMANDS = table(instance__reschedule=Command(RescheduleArgs, reschedule))
