"""Placement in the state machine: groups, host labels and modes, moves, and the
re-check of every placement decision in apply.

The proposer decides where an instance goes; apply checks the decision again
against the state as it is when the command commits (capacity with overcommit
and the host's reserved share, the host still accepting placements, label
constraints, hard group rules), so two decisions made from the same view can
never both commit if together they would break a rule. The loser is retried by
its proposer.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound, ResourceExhausted
from scheduler.rules import constraints as c
from scheduler.rules import groups as g
from scheduler.state import records as r
from scheduler.state.commands import Command, IdArgs, table

RESOURCE_KEYS = ("vcpus", "memory_bytes", "disk_bytes")
MOVING_MODES = ("draining", "maintenance")


def schedulable(host: dict) -> str:
    return host.get("schedulable", g.ACTIVE)


def host_limit(host: dict, key: str, overcommit: dict, reserved: dict) -> float:
    """What may be placed on `host` of resource `key`."""
    return host["capacity"].get(key, 0) * overcommit.get(key, 1.0) - reserved.get(key, 0)


def check_capacity(host: dict, need: dict, overcommit: dict, reserved: dict) -> None:
    for key in RESOURCE_KEYS:
        if need.get(key) and host["allocated"].get(key, 0) + need[key] > host_limit(host, key, overcommit, reserved):
            raise ResourceExhausted(f"host {host['name']} is short of {key.removesuffix('_bytes')}")


def host_eligible(host: dict, parsed) -> bool:
    """Up, accepting placements and matching the constraints (capacity aside)."""
    return (host.get("state") == r.HOST_UP and schedulable(host) == g.ACTIVE
            and c.matches_all(parsed, host.get("labels", {})))


def candidate_ids(state, parsed) -> list[str]:
    """Host ids that may match `parsed`: narrowed by the most selective `=`/`in`."""
    best = None
    for constraint in parsed:
        allowed = constraint.allowed_values()
        if allowed is not None:
            hosts = state.placement.hosts_with(constraint.key, allowed)
            if best is None or len(hosts) < len(best):
                best = hosts
    return state.placement.host_order if best is None else sorted(best)


def min_members(state, group: dict, parsed, counts: dict) -> int:
    """The fewest members any domain that could take one holds (0 when none could)."""
    fewest = None
    if group["domain"] == "host":
        for host_id in candidate_ids(state, parsed):
            n = counts.get(host_id, 0)
            if (fewest is None or n < fewest) and host_eligible(state.hosts[host_id], parsed):
                fewest = n
                if n == 0:
                    return 0
    else:
        for value, host_ids in sorted(state.placement.domain_values(group["domain"]).items()):
            n = counts.get(value, 0)
            # any() does not depend on the order, so the set is not sorted (it can be large).
            if (fewest is None or n < fewest) and any(
                    host_eligible(state.hosts[h], parsed) for h in host_ids):
                fewest = n
                if n == 0:
                    return 0
    return fewest or 0


def group_of(state, project: str, name: str) -> dict | None:
    group_id = state.group_names.get(r.name_key(project, name))
    return state.groups.get(group_id) if group_id else None


def admit(state, host: dict, spec: dict, project: str, overcommit: dict, reserved: dict) -> str:
    """Check a placement of `spec` on `host` before anything changes (raises what is
    wrong); the id of the group the instance joins ('' if none)."""
    mode = schedulable(host)
    if mode != g.ACTIVE:
        raise FailedPrecondition(f"host {host['name']} is {mode}: it takes no new instances")
    check_capacity(host, r.demand(spec), overcommit, reserved)
    parsed = c.parse_all(spec.get("constraints", ()))
    if not c.matches_all(parsed, host.get("labels", {})):
        raise FailedPrecondition(f"host {host['name']} does not match the constraints")
    if not spec.get("group"):
        return ""
    group = group_of(state, project, spec["group"])
    if group is None:
        raise FailedPrecondition(f"placement group {spec['group']!r} no longer exists")
    if not group["soft"]:
        counts = state.placement.group_counts.get(group["id"], {})
        value = g.domain_value(host, group["domain"])
        fewest = min_members(state, group, parsed, counts) if group["policy"] == "spread" else 0
        broken = g.violation(group, counts, value, fewest)
        if broken:
            raise FailedPrecondition(f"placing on host {host['name']} would violate {broken}")
    return group["id"]


# -- groups ------------------------------------------------------------------------------

def _group_result(state, group: dict) -> dict:
    return {"group": copy.deepcopy(group),
            "counts": dict(state.placement.group_counts.get(group["id"], {})),
            "members": len(state.placement.group_members.get(group["id"], ()))}


@dataclass(frozen=True)
class CreateGroupArgs:
    id: str
    project: str
    name: str
    policy: str
    domain: str
    max_per_domain: int
    soft: bool
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UpdateGroupArgs:
    id: str
    policy: str | None = None
    domain: str | None = None
    max_per_domain: int | None = None
    soft: bool | None = None


@dataclass(frozen=True)
class SetLabelsArgs:
    id: str
    labels: dict[str, str] = field(default_factory=dict)
    remove: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SetSchedulableArgs:
    id: str
    mode: str


@dataclass(frozen=True)
class MoveArgs:
    id: str
    from_host_id: str
    to_host_id: str
    overcommit: dict[str, float] = field(default_factory=dict)
    reserved: dict[str, float] = field(default_factory=dict)
    reason: str = "moved"


@dataclass(frozen=True)
class AliveArgs:
    ids: list[str]


def create_group(state, args: CreateGroupArgs, ctx: dict) -> dict:
    project, name = args.project, args.name
    g.check_group_fields(args.policy, args.domain, args.max_per_domain)
    if r.name_key(project, name) in state.group_names:
        raise AlreadyExists(f"placement group {name!r} already exists in project {project!r}")
    if args.id in state.groups:
        raise AlreadyExists(f"group id {args.id} already exists")
    group = {"id": args.id, "name": name, "project": project, "labels": dict(args.labels),
             "policy": args.policy, "domain": args.domain,
             "max_per_domain": int(args.max_per_domain), "soft": bool(args.soft),
             "created_ms": ctx["ts"], "updated_ms": ctx["ts"], "revision": ctx["index"]}
    state.groups[group["id"]] = group
    state.group_names[r.name_key(project, name)] = group["id"]
    return _group_result(state, group)


def _group(state, group_id: str) -> dict:
    group = state.groups.get(group_id)
    if group is None:
        raise NotFound(f"placement group {group_id} not found")
    return group


def _domain_counts(state, group_id: str, domain: str) -> dict:
    counts: dict[str, int] = {}
    for instance_id in state.placement.group_members.get(group_id, ()):
        host = state.hosts.get(state.instances[instance_id]["host_id"])
        value = g.domain_value(host, domain) if host else None
        counts[value or "(no label)"] = counts.get(value or "(no label)", 0) + 1
    return counts


def _eligible_values(state, domain: str) -> set:
    if domain == "host":
        return {h for h in state.placement.host_order if host_eligible(state.hosts[h], ())}
    return {v for v, hosts in state.placement.domain_values(domain).items()
            if any(host_eligible(state.hosts[h], ()) for h in hosts)}


def update_group(state, args: UpdateGroupArgs, ctx: dict) -> dict:
    """Change a group's rule; refused when its current members would break the new one."""
    group = _group(state, args.id)
    changed = {k: getattr(args, k) for k in ("policy", "domain", "max_per_domain", "soft")
               if getattr(args, k) is not None}
    proposed = dict(group, **changed)
    g.check_group_fields(proposed["policy"], proposed["domain"], int(proposed["max_per_domain"]))
    if not proposed["soft"]:
        counts = _domain_counts(state, group["id"], proposed["domain"])
        if "(no label)" in counts:
            raise FailedPrecondition(f"{counts['(no label)']} member(s) of {group['name']!r} are on hosts "
                                     f"without a {proposed['domain']} label")
        broken = g.breaks(proposed, counts, _eligible_values(state, proposed["domain"]))
        if broken:
            raise FailedPrecondition(f"the current members of {group['name']!r} would break the new rule: {broken}")
    group.update(changed)
    group["max_per_domain"] = int(group["max_per_domain"])
    group["updated_ms"], group["revision"] = ctx["ts"], ctx["index"]
    state.placement.recount_group(state, group["id"])
    return _group_result(state, group)


def delete_group(state, args: IdArgs, ctx: dict) -> dict:
    group = _group(state, args.id)
    members = len(state.placement.group_members.get(group["id"], ()))
    if members:
        raise FailedPrecondition(f"placement group {group['name']!r} still has {members} member(s)")
    del state.groups[group["id"]]
    state.group_names.pop(r.name_key(group["project"], group["name"]), None)
    state.placement.forget_group(group["id"])
    return {"deleted": True}


# -- hosts -------------------------------------------------------------------------------

def _host(state, host_id: str) -> dict:
    host = state.hosts.get(host_id)
    if host is None:
        raise NotFound(f"host {host_id} not found")
    return host


def effective_labels(agent_labels: dict, operator_labels: dict) -> dict:
    """The agent's labels with the operator's on top."""
    return {**agent_labels, **operator_labels}


def set_labels(state, args: SetLabelsArgs, ctx: dict) -> dict:
    """Operator labels on a host (they outlive the agent's re-joins)."""
    host = _host(state, args.id)
    before = host.get("operator_labels", {})
    operator = dict(before)
    operator.update(args.labels)
    for key in args.remove:
        operator.pop(key, None)
    agent_labels = host.get("agent_labels", host.get("labels", {}))
    new = effective_labels(agent_labels, operator)
    for key in args.remove:
        if key not in before:
            # Removing the operator's label shows the agent's again; removing an
            # agent label hides it until the agent joins again.
            new.pop(key, None)
    _check_relabel(state, host, new)
    host["agent_labels"], host["operator_labels"], host["labels"] = dict(agent_labels), operator, new
    host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    return {"host": copy.deepcopy(host)}


def _check_relabel(state, host: dict, labels: dict) -> None:
    """Refuse new labels that would make the members already on `host` break a hard rule."""
    members: dict[str, int] = {}
    for instance_id in state.placement.by_host.get(host["id"], ()):
        group_id = state.placement.group_of(instance_id)
        if group_id:
            members[group_id] = members.get(group_id, 0) + 1
    for group_id, n in sorted(members.items()):
        group = state.groups.get(group_id)
        if group is None or group["soft"] or group["domain"] == "host":
            continue
        old, new = host.get("labels", {}).get(group["domain"]), labels.get(group["domain"])
        if old == new:
            continue
        if new is None:
            raise FailedPrecondition(f"{n} member(s) of {group['name']!r} on host {host['name']} need "
                                     f"its {group['domain']} label")
        counts = dict(state.placement.group_counts.get(group_id, {}))
        if old is not None:
            counts[old] = counts.get(old, 0) - n
        counts[new] = counts.get(new, 0) + n
        broken = g.breaks(group, counts, _eligible_values(state, group["domain"]))
        if broken:
            raise FailedPrecondition(f"relabelling host {host['name']} would break group "
                                     f"{group['name']!r}: {broken}")


def _last_of_domain(state, host: dict) -> str | None:
    """A hard spread group that needs `host`: the last schedulable host of its domain with members."""
    for group_id, counts in sorted(state.placement.group_counts.items()):
        group = state.groups.get(group_id)
        if group is None or group["soft"] or group["policy"] != "spread" or group["domain"] == "host":
            continue
        value = g.domain_value(host, group["domain"])
        if value is None or not counts.get(value):
            continue
        others = [h for h in state.placement.domain_values(group["domain"]).get(value, ())
                  if h != host["id"] and host_eligible(state.hosts[h], ())]
        if not others:
            return (f"host {host['name']} is the last schedulable host of {group['domain']} {value!r}, "
                    f"which spread group {group['name']!r} needs")
    return None


def set_schedulable(state, args: SetSchedulableArgs, ctx: dict) -> dict:
    host = _host(state, args.id)
    mode = args.mode
    if mode not in g.SCHEDULABLE_MODES:
        raise InvalidArgument("mode", f"must be one of {', '.join(g.SCHEDULABLE_MODES)}, not {mode!r}")
    if mode in MOVING_MODES and schedulable(host) not in MOVING_MODES:
        needed = _last_of_domain(state, host)
        if needed:
            raise FailedPrecondition(needed)
    host["schedulable"] = mode
    host["updated_ms"], host["revision"] = ctx["ts"], ctx["index"]
    return {"host": copy.deepcopy(host)}


# -- moves -------------------------------------------------------------------------------

def move(state, args: MoveArgs, ctx: dict) -> dict:
    """Place an instance on another host (drain); its old host is told to remove it."""
    return relocate(state, args.id, args.from_host_id, args.to_host_id, args.overcommit,
                    args.reserved, args.reason, ctx)


def relocate(state, instance_id: str, from_host_id: str, to_host_id: str, overcommit: dict,
             reserved: dict, reason: str, ctx: dict) -> dict:
    """The one move of an instance to another host: a drain, an evacuation and a
    reschedule after host loss all end here. Checked like a create on the new host;
    the instance starts again there as a new generation."""
    instance = state.instances.get(instance_id)
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    if instance["host_id"] != from_host_id:
        raise FailedPrecondition(f"instance {instance['name']} is no longer on host {from_host_id}")
    if instance["state"] == r.DELETING:
        raise FailedPrecondition(f"instance {instance['name']} is being deleted")
    target = state.hosts.get(to_host_id)
    if target is None or target["id"] == instance["host_id"]:
        raise FailedPrecondition(f"host {to_host_id} cannot take instance {instance['name']}")
    if target["state"] != r.HOST_UP:
        raise FailedPrecondition(f"host {target['name']} is down")
    state.placement.unplace(state, instance["id"])   # it must not count against its new host
    try:
        admit(state, target, instance["spec"], instance["project"], overcommit, reserved)
    finally:
        state.placement.sync_instance(state, instance["id"])
    need = r.demand(instance["spec"])
    old = state.hosts.get(instance["host_id"])
    if old is not None:
        old["allocated"] = r.add_resources(old["allocated"], need, -1)
    target["allocated"] = r.add_resources(target["allocated"], need)
    instance["host_id"] = target["id"]
    instance.update({"state": r.PENDING, "reason": reason, "runtime_id": "",
                     "started_ms": 0, "finished_ms": 0, "exit_code": 0,
                     "desired_generation": instance["desired_generation"] + 1,
                     "moved_from": from_host_id})
    instance["updated_ms"], instance["revision"] = ctx["ts"], ctx["index"]
    return {"instance": copy.deepcopy(instance)}


def alive(state, args: AliveArgs, ctx: dict) -> dict:
    """Hosts heard from since the last such command (scheduler/leader/liveness.py): their
    heartbeat time moves to `ts`. Hosts that are down come back only through a full
    heartbeat, which also records what changed while they were away."""
    touched = 0
    for host_id in args.ids:
        host = state.hosts.get(host_id)
        if host is not None and host["state"] == r.HOST_UP:
            host["last_heartbeat_ms"] = max(host["last_heartbeat_ms"], ctx["ts"])
            touched += 1
    return {"hosts": touched}


COMMANDS = table(
    host__alive=Command(AliveArgs, alive),
    group__create=Command(CreateGroupArgs, create_group),
    group__update=Command(UpdateGroupArgs, update_group),
    group__delete=Command(IdArgs, delete_group),
    host__set_labels=Command(SetLabelsArgs, set_labels),
    host__set_schedulable=Command(SetSchedulableArgs, set_schedulable),
    instance__move=Command(MoveArgs, move),
)
