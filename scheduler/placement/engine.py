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


@dataclass(frozen=True)
class Decision:
    host_id: str
    score: float
    candidates: int


def explain(rejected: dict[str, int], total: int) -> str:
    """'0 of 3 hosts fit: 2 short of memory, 1 down'."""
    parts = ", ".join(f"{count} {reason}" for reason, count in rejected.items() if count)
    return f"0 of {total} hosts fit" + (f": {parts}" if parts else "")


def place(hosts: list[dict], request: PlacementRequest, filters=DEFAULT_FILTERS,
          weighers=DEFAULT_WEIGHERS) -> Decision:
    """The best host for `request`; ResourceExhausted saying what each filter removed."""
    rejected = {f.reason: 0 for f in filters}
    best, best_score, survivors = None, float("-inf"), 0
    for host in hosts:
        failed = next((f for f in filters if not f.host_passes(host, request)), None)
        if failed is not None:
            rejected[failed.reason] += 1
            continue
        survivors += 1
        score = sum(w.weight * w.weigh(host, request) for w in weighers)
        # Ties break on the id so every node makes the same choice from the same view.
        if best is None or score > best_score or (score == best_score and host["id"] < best["id"]):
            best, best_score = host, score
    if best is None:
        raise ResourceExhausted(explain(rejected, len(hosts)))
    return Decision(best["id"], best_score, survivors)
