"""Moving an instance off a host that is down: the identity stays, the host changes.

The leader's reconciler decides the new host (placement over the hosts that are
up) and proposes `instance.reschedule`; apply checks that the move still makes
sense — the instance is still LOST on the host it was on, that host is still
down, the new host is up and has room — before moving the allocation.
"""
from __future__ import annotations

from common.errors import FailedPrecondition, NotFound
from scheduler.state import records as r
from scheduler.state.instances import check_fits


def reschedule(state, args: dict, ctx: dict) -> dict:
    instance = state.instances.get(args["id"])
    if instance is None:
        raise NotFound(f"instance {args['id']} not found")
    old = state.hosts.get(instance["host_id"])
    if instance["host_id"] != args["from_host_id"] or instance["state"] != r.LOST:
        raise FailedPrecondition(f"instance {instance['name']} is no longer lost on {args['from_host_id']}")
    if old is not None and old["state"] != r.HOST_DOWN:
        raise FailedPrecondition(f"host {old['name']} is back; its instances stay")
    new = state.hosts.get(args["host_id"])
    if new is None or new["state"] != r.HOST_UP:
        raise FailedPrecondition(f"host {args['host_id']} is not up")
    need = r.demand(instance["spec"])
    check_fits(new, need, args.get("overcommit", {}))
    if old is not None:
        old["allocated"] = r.add_resources(old["allocated"], need, -1)
    new["allocated"] = r.add_resources(new["allocated"], need)
    instance.update({
        "host_id": new["id"], "state": r.PENDING, "runtime_id": "",
        "reason": f"rescheduled from {old['name'] if old else args['from_host_id']} (host down)",
        "started_ms": 0, "finished_ms": 0, "exit_code": 0,
        "desired_generation": instance["desired_generation"] + 1,
        "reschedules": instance.get("reschedules", 0) + 1,
    })
    instance["updated_ms"], instance["revision"] = ctx["ts"], ctx["index"]
    return {"instance": dict(instance)}
