"""Commands on hosts: join, heartbeat, mark down, health as the leader sees it."""
from __future__ import annotations

from common.errors import InvalidArgument, NotFound
from scheduler.state import records as r


def join(state, args: dict, ctx: dict) -> dict:
    """Register a host, or refresh it when one of that name already joined (it keeps its id)."""
    name = args["name"]
    host_id = state.host_names.get(name)
    if host_id is None:
        host_id = args["id"]
        if host_id in state.hosts:
            raise InvalidArgument("id", f"host id {host_id} already in use")
        state.hosts[host_id] = {
            "id": host_id, "name": name, "created_ms": ctx["ts"],
            "allocated": r.resources(), "usage": {}, "last_heartbeat_ms": ctx["ts"],
        }
        state.host_names[name] = host_id
    host = state.hosts[host_id]
    host.update({
        "address": args["address"],
        "capacity": r.resources(**args["capacity"]),
        "drivers": list(args.get("drivers", [])),
        # Labels an operator set (`cloud host label`) win over the agent's config.
        "labels": {**args.get("labels", {}), **host.get("operator_labels", {})},
        "agent_labels": dict(args.get("labels", {})),
        "agent_version": args.get("agent_version", ""),
        "images": sorted(args.get("images", [])),
        "vtep": args.get("vtep", ""),
        "state": r.HOST_UP, "reason": "", "unhealthy": "",
        "last_heartbeat_ms": ctx["ts"],
        "updated_ms": ctx["ts"], "revision": ctx["index"],
    })
    return {"host_id": host_id}


def heartbeat(state, args: dict, ctx: dict) -> dict:
    host = state.hosts.get(args["id"])
    if host is None:
        raise NotFound(f"host {args['id']} is not registered; join again")
    host["last_heartbeat_ms"] = max(host["last_heartbeat_ms"], ctx["ts"])
    host["usage"] = dict(args.get("usage", {}))
    if "images" in args:
        host["images"] = sorted(args["images"])
    if args.get("capacity"):
        host["capacity"] = r.resources(**args["capacity"])
    if host["state"] != r.HOST_UP:
        host["state"], host["reason"] = r.HOST_UP, ""
        host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    return {"state": host["state"]}


def mark_down(state, args: dict, ctx: dict) -> dict:
    """Mark a host down if it has still not been heard from for `ttl_ms` at `ts`.

    Its instances become LOST; rescheduling them is the reconciler's decision.
    """
    host = state.hosts.get(args["id"])
    if host is None:
        raise NotFound(f"host {args['id']} not found")
    silent_ms = ctx["ts"] - host["last_heartbeat_ms"]
    if host["state"] == r.HOST_DOWN or silent_ms < args["ttl_ms"]:
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


def set_health(state, args: dict, ctx: dict) -> dict:
    """Record whether the leader's calls to the host's agent work.

    A host can heartbeat (it reaches the schedulers) while the leader cannot reach
    it, or its agent hangs on its engine: such a host is up but `unhealthy` (the
    reason, or "" when healthy again) and takes no new placements."""
    host = state.hosts.get(args["id"])
    if host is None:
        raise NotFound(f"host {args['id']} not found")
    reason = str(args.get("unhealthy", ""))
    if host["state"] != r.HOST_UP or host.get("unhealthy", "") == reason:
        return {"unhealthy": host.get("unhealthy", ""), "changed": False}
    host["unhealthy"] = reason
    host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    return {"unhealthy": reason, "changed": True}
