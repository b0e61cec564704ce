"""Per-project quotas, charged in apply so concurrent creates can never overshoot.

Any command that creates something a project pays for calls, after its own checks
and before it changes anything:

    quota.charge(state, project, {"instances": 1, "vcpus": 2, "memory_bytes": 2 << 30})

and, when the thing is gone for good, `quota.release(state, project, same_amounts)`.
`charge` raises ResourceExhausted (naming the quota, the limit and the usage) and
changes nothing when any limit would be passed; otherwise it records the usage.
A limit that is absent means the default of `DEFAULT_LIMITS`, else unlimited; -1
is unlimited. Usage is kept per project in `state.iam["usage"]`, counted by these
calls only — except the `COUNTED` resources, which `recount` derives again from
the state's collections whenever a state is loaded (snapshots from before they
had quotas hold them without usage records).
"""
from __future__ import annotations

from common.errors import NotFound, ResourceExhausted
from scheduler.state import projects

RESOURCES = ("instances", "vcpus", "memory_bytes", "volumes", "volume_bytes", "vpcs", "floating_ips",
             "secrets", "secret_bytes", "images", "security_groups", "security_group_rules")

# What every project may hold without `cloud quota set`: the records below live in
# the replicated state (every scheduler's memory, every snapshot), so they are
# bounded even where nobody set a quota. Constants, not options: apply must decide
# the same on every node.
DEFAULT_LIMITS = {"secrets": 1000, "secret_bytes": 16 << 20, "images": 200,
                  "security_groups": 200, "security_group_rules": 2000}

COUNTED = ("secrets", "secret_bytes", "images", "security_groups", "security_group_rules")


def instance_amounts(spec: dict) -> dict:
    return {"instances": 1, "vcpus": int(spec.get("vcpus", 0)),
            "memory_bytes": int(spec.get("memory_bytes", 0))}


def secret_amounts(record: dict) -> dict:
    return {"secrets": 1, "secret_bytes": int(record["size_bytes"])}


def limit(state, project: str, resource: str) -> int:
    """`project`'s limit of `resource`: the one set, else the default; -1: unlimited."""
    set_limit = state.iam["quotas"].get(project, {}).get(resource)
    return DEFAULT_LIMITS.get(resource, -1) if set_limit is None else set_limit


def check(state, project: str, amounts: dict) -> None:
    """ResourceExhausted when `amounts` more would pass one of `project`'s limits."""
    used = state.iam["usage"].get(project, {})
    for resource, amount in sorted(amounts.items()):
        if resource not in RESOURCES:
            raise ValueError(f"unknown quota resource {resource!r}")
        cap = limit(state, project, resource)
        if cap >= 0 and amount > 0 and used.get(resource, 0) + amount > cap:
            raise ResourceExhausted(
                f"quota exceeded in project {project!r}: {resource} limit {cap}, "
                f"used {used.get(resource, 0)}, asked {amount}")


def charge(state, project: str, amounts: dict, project_id: str | None = None) -> None:
    """Check, then record `amounts` as used by `project`.

    `project_id`, when the proposer sends it, must still be the project's id: a
    project deleted (or deleted and re-created) since the proposer looked is refused.
    """
    if project_id is not None:
        record = projects.project(state, project)
        if record is None or record["id"] != project_id:
            raise NotFound(f"project {project!r} not found")
    check(state, project, amounts)
    used = state.iam["usage"].setdefault(project, {})
    for resource, amount in amounts.items():
        used[resource] = used.get(resource, 0) + int(amount)


def release(state, project: str, amounts: dict) -> None:
    """Give back what `charge` recorded (never below zero: records from before
    quotas existed were never charged)."""
    used = state.iam["usage"].get(project)
    if used is None:
        return
    for resource, amount in amounts.items():
        left = used.get(resource, 0) - int(amount)
        if left > 0:
            used[resource] = left
        else:
            used.pop(resource, None)
    if not used:
        del state.iam["usage"][project]


def recount(state) -> None:
    """Derive the usage of the `COUNTED` resources from the records themselves."""
    counts: dict[str, dict] = {}

    def add(project: str, resource: str, amount: int) -> None:
        if amount:
            per = counts.setdefault(project, {})
            per[resource] = per.get(resource, 0) + amount

    for record in state.secrets.values():
        for resource, amount in secret_amounts(record).items():
            add(record["project"], resource, amount)
    for record in state.images.values():
        add(record["project"], "images", 1)
    for record in state.security_groups.values():
        add(record["project"], "security_groups", 1)
        add(record["project"], "security_group_rules", len(record["rules"]))
    usage = state.iam["usage"]
    for project in sorted(set(usage) | set(counts)):
        used = {k: v for k, v in usage.get(project, {}).items() if k not in COUNTED}
        used.update(counts.get(project, {}))
        if used:
            usage[project] = used
        else:
            usage.pop(project, None)


def report(state, project: str) -> dict:
    """{resource: {"limit": n or -1, "used": n}} for every quota resource."""
    used = state.iam["usage"].get(project, {})
    return {resource: {"limit": limit(state, project, resource), "used": used.get(resource, 0)}
            for resource in RESOURCES}
