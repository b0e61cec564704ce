"""Per-project quotas, charged in apply so concurrent creates can never overshoot.

Any command that creates something a project pays for calls, after its own checks
and before it changes anything:

    quota.charge(state, project, {"instances": 1, "vcpus": 2, "memory_bytes": 2 << 30})

and, when the thing is gone for good, `quota.release(state, project, same_amounts)`.
`charge` raises ResourceExhausted (naming the quota, the limit and the usage) and
changes nothing when any limit would be passed; otherwise it records the usage.
A limit that is absent means unlimited. Usage is kept per project in
`state.iam["usage"]`, counted by these calls only.
"""
from __future__ import annotations

from common.errors import NotFound, ResourceExhausted

RESOURCES = ("instances", "vcpus", "memory_bytes", "volumes", "volume_bytes", "vpcs", "floating_ips")


def instance_amounts(spec: dict) -> dict:
    return {"instances": 1, "vcpus": int(spec.get("vcpus", 0)),
            "memory_bytes": int(spec.get("memory_bytes", 0))}


def check(state, project: str, amounts: dict) -> None:
    """ResourceExhausted when `amounts` more would pass one of `project`'s limits."""
    limits = state.iam["quotas"].get(project, {})
    used = state.iam["usage"].get(project, {})
    for resource, amount in sorted(amounts.items()):
        if resource not in RESOURCES:
            raise ValueError(f"unknown quota resource {resource!r}")
        limit = limits.get(resource)
        if limit is not None and amount > 0 and used.get(resource, 0) + amount > limit:
            raise ResourceExhausted(
                f"quota exceeded in project {project!r}: {resource} limit {limit}, "
                f"used {used.get(resource, 0)}, asked {amount}")


def charge(state, project: str, amounts: dict, project_id: str | None = None) -> None:
    """Check, then record `amounts` as used by `project`.

    `project_id`, when the proposer sends it, must still be the project's id: a
    project deleted (or deleted and re-created) since the proposer looked is refused.
    """
    if project_id is not None:
        from scheduler.state import iam  # iam imports this module

        record = iam.project(state, project)
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


def report(state, project: str) -> dict:
    """{resource: {"limit": n or -1, "used": n}} for every quota resource."""
    limits = state.iam["quotas"].get(project, {})
    used = state.iam["usage"].get(project, {})
    return {resource: {"limit": limits.get(resource, -1), "used": used.get(resource, 0)}
            for resource in RESOURCES}
