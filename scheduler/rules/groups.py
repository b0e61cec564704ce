"""Placement-group rules over failure domains, shared by placement and by apply.

A group's members obey its policy over a failure domain ("host", "rack" or
"zone"; racks and zones are host labels). Hard rules refuse a host that would
break them; soft rules only score hosts (see `GroupWeigher`). Everything here is
a pure function of the state passed in, so the state machine can re-check a
decision exactly as the proposer made it.
"""
from __future__ import annotations

from common.errors import InvalidArgument

POLICIES = ("anti-affinity", "affinity", "spread")
DOMAINS = ("host", "rack", "zone")
ACTIVE = "active"
SCHEDULABLE_MODES = ("active", "cordoned", "draining", "maintenance")


def domain_value(host: dict, domain: str) -> str | None:
    """The failure domain `host` belongs to; None when it lacks the label."""
    if domain == "host":
        return host["id"]
    return host.get("labels", {}).get(domain)


def check_group_fields(policy: str, domain: str, max_per_domain: int) -> None:
    if policy not in POLICIES:
        raise InvalidArgument("policy", f"must be one of {', '.join(POLICIES)}, not {policy!r}")
    if domain not in DOMAINS:
        raise InvalidArgument("domain", f"must be one of {', '.join(DOMAINS)}, not {domain!r}")
    if not 0 <= max_per_domain <= 100000:
        raise InvalidArgument("max_per_domain", "must be between 0 and 100000")
    if policy == "affinity" and max_per_domain == 1:
        # Legal, but then the group can never have a second member.
        pass


def limit(group: dict) -> int | None:
    """Most members one domain may hold, or None for no limit."""
    if group["max_per_domain"]:
        return group["max_per_domain"]
    return 1 if group["policy"] == "anti-affinity" else None


def violation(group: dict, counts: dict, value: str | None, min_count: int) -> str | None:
    """Why adding one member in domain `value` breaks `group`'s hard rule, or None.

    `counts` maps domain value -> members there; `min_count` is the fewest members
    any domain able to take one holds (spread compares against it).
    """
    if value is None:
        return f"no {group['domain']} label"
    here = counts.get(value, 0)
    cap = limit(group)
    if cap is not None and here + 1 > cap:
        return f"{group['policy']} '{group['name']}'"
    if group["policy"] == "affinity":
        occupied = [v for v, n in counts.items() if n > 0]
        if occupied and value not in occupied:
            return f"affinity '{group['name']}'"
    elif group["policy"] == "spread" and here + 1 - min(min_count, here) > 1:
        return f"spread '{group['name']}'"
    return None


def soft_score(group: dict, counts: dict, value: str | None) -> float:
    """In [-1, 1]: higher where a soft rule would rather have the new member."""
    if value is None:
        return -1.0
    total = sum(counts.values())
    here = counts.get(value, 0)
    if group["policy"] == "affinity":
        return here / (total or 1) if total else 0.0
    return -here / (total + 1)


def breaks(group: dict, counts: dict, eligible: set) -> str | None:
    """Why the members as they are now (domain -> count) break `group`'s hard rule."""
    occupied = {v: n for v, n in counts.items() if n > 0}
    cap = limit(group)
    for value, n in sorted(occupied.items()):
        if cap is not None and n > cap:
            return f"{n} members share {group['domain']} {value!r} (at most {cap} allowed)"
    if group["policy"] == "affinity" and len(occupied) > 1:
        return f"members are in {len(occupied)} {group['domain']}s ({', '.join(sorted(occupied))})"
    if group["policy"] == "spread" and occupied:
        domains = set(eligible) | set(occupied)
        fewest = min(occupied.get(v, 0) for v in domains)
        most = max(occupied.values())
        if most - fewest > 1:
            return f"members are {most - fewest} apart across {group['domain']}s (at most 1 allowed)"
    return None
