"""place(): filters, then weighers, then the best host — or an explanation."""
from __future__ import annotations

from dataclasses import dataclass, field

from common.errors import ResourceExhausted
from scheduler.placement.filters import DEFAULT_FILTERS
from scheduler.placement.weighers import DEFAULT_WEIGHERS


@dataclass(frozen=True)
class PlacementRequest:
    demand: dict                      # {"vcpus", "memory_bytes", "disk_bytes"}
    driver: str = "docker"
    host_labels: dict = field(default_factory=dict)
    strategy: str = "spread"
    overcommit: dict = field(default_factory=dict)   # per resource key, default 1.0
    reserved: dict = field(default_factory=dict)     # per resource key, kept for the host itself
    image: str = ""                                   # must be on the host ("" : any host)
    constraints: tuple = ()                           # parsed constraints.Constraint
    group: dict | None = None                         # the placement group record
    group_counts: dict = field(default_factory=dict)  # its members per domain value
    group_min: int = 0                                # fewest members an eligible domain holds
    needs_vtep: bool = False                          # a VPC port: the host must have a VTEP
    volume_host: str = ""                             # its volumes live there ("": anywhere)


@dataclass(frozen=True)
class Decision:
    host_id: str
    score: float
    candidates: int


@dataclass
class Scan:
    """Every host judged: who survived with what score, and what removed the others."""

    total: int = 0
    rejected: dict = field(default_factory=dict)      # reason -> hosts removed
    scored: list = field(default_factory=list)        # (score, host id, host name, {weigher: score})

    def best(self) -> tuple | None:
        return min(self.scored, key=lambda s: (-s[0], s[1])) if self.scored else None


def explain(rejected: dict[str, int], total: int) -> str:
    """'0 of 3 hosts fit: 1 down, 2 short of memory' (in the order of the filters)."""
    parts = ", ".join(f"{count} {reason}" for reason, count in rejected.items() if count)
    return f"0 of {total} hosts fit" + (f": {parts}" if parts else "")


def first_failure(host: dict, request, filters):
    for f in filters:
        if not f.host_passes(host, request):
            return f
    return None


def weigh(host: dict, request, weighers) -> tuple[float, dict]:
    parts = {w.name or type(w).__name__: w.weight * w.weigh(host, request) for w in weighers}
    return sum(parts.values()), parts


def scan(hosts, request: PlacementRequest, filters=DEFAULT_FILTERS, weighers=DEFAULT_WEIGHERS) -> Scan:
    """Judge every host (for explanations and refusals)."""
    result = Scan(rejected={f.reason_for(request): 0 for f in filters})
    for host in hosts:
        result.total += 1
        failed = first_failure(host, request, filters)
        if failed is not None:
            reason = failed.reason_for(request)
            result.rejected[reason] += 1
            continue
        score, parts = weigh(host, request, weighers)
        result.scored.append((score, host["id"], host.get("name", host["id"]), parts))
    return result


def place(hosts: list[dict], request: PlacementRequest, filters=DEFAULT_FILTERS,
          weighers=DEFAULT_WEIGHERS) -> Decision:
    """The best host for `request`; ResourceExhausted saying what each filter removed."""
    judged = scan(hosts, request, filters, weighers)
    best = judged.best()
    if best is None:
        raise ResourceExhausted(explain(judged.rejected, judged.total))
    # Ties break on the id so every node makes the same choice from the same view.
    return Decision(best[1], best[0], len(judged.scored))
