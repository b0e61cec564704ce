"""Placement at fleet scale: the same filters and weighers as `place()`, over a sample.

Scanning every host with Python filters for every request does not scale to
thousands of hosts. The planner instead (as Nomad's limited candidate iteration
does) walks the candidate hosts from a random starting point and stops after
`limit` hosts passed every filter, then picks the best of those. Candidates are
narrowed first through the state machine's label index (`zone=a`, `zone in a,b`)
and, for a hard affinity group, to the domain its members are in. Only when no
host fits does it judge every host, so a refusal always says exactly what each
filter removed.

Nothing here is trusted by the state machine: apply checks every decision again.
"""
from __future__ import annotations

import dataclasses
import random

from common.errors import InvalidArgument, NotFound, ResourceExhausted
from scheduler.rules import constraints as c
from scheduler.rules import groups as g
from scheduler.placement.engine import Decision, PlacementRequest, Scan, explain, first_failure, scan, weigh
from scheduler.placement.filters import DEFAULT_FILTERS
from scheduler.placement.weighers import DEFAULT_WEIGHERS, STRATEGIES
from scheduler.state import placement as rules
from scheduler.state import records as r

DEFAULT_LIMIT = 6


class Overlay:
    """Decisions made but not committed yet (a batch): what they add to hosts and groups."""

    def __init__(self):
        self.allocated: dict[str, dict] = {}
        self.members: dict[str, dict[str, int]] = {}   # group id -> domain value -> members

    def view(self, host: dict) -> dict:
        extra = self.allocated.get(host["id"])
        return host if extra is None else dict(host, allocated=r.add_resources(host["allocated"], extra))

    def counts(self, group_id: str, committed: dict) -> dict:
        extra = self.members.get(group_id)
        if not extra:
            return committed
        merged = dict(committed)
        for value, n in extra.items():
            merged[value] = merged.get(value, 0) + n
        return merged

    def add(self, host: dict, request: PlacementRequest) -> None:
        self.allocated[host["id"]] = r.add_resources(self.allocated.get(host["id"], r.resources()), request.demand)
        group = request.group
        if group is not None:
            value = g.domain_value(host, group["domain"])
            if value is not None:
                members = self.members.setdefault(group["id"], {})
                members[value] = members.get(value, 0) + 1


@dataclasses.dataclass(frozen=True)
class Settings:
    """What the cluster's config says about every placement."""

    strategy: str = "spread"
    overcommit: dict = dataclasses.field(default_factory=dict)
    reserved: dict = dataclasses.field(default_factory=dict)
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(strategy=config.placement_strategy, overcommit=config.overcommit(),
                   reserved=reserved_of(config), limit=getattr(config, "placement_candidates", DEFAULT_LIMIT))


def reserved_of(config) -> dict:
    mib = 1024 * 1024
    return r.resources(getattr(config, "reserved_vcpus", 0), getattr(config, "reserved_memory_mb", 0) * mib,
                       getattr(config, "reserved_disk_mb", 0) * mib)


class Planner:
    def __init__(self, settings: Settings, filters=DEFAULT_FILTERS, weighers=DEFAULT_WEIGHERS,
                 rng: random.Random | None = None):
        self.settings = settings
        self.filters = filters
        self.weighers = weighers
        self.rng = rng or random.Random()
        self._candidates: dict = {}

    # -- requests --------------------------------------------------------------------

    def request(self, state, project: str, spec: dict) -> PlacementRequest:
        """The placement request for an instance with `spec` in `project`.

        INVALID_ARGUMENT for constraints that contradict each other or name a label
        key no host carries, or an unknown strategy; NOT_FOUND for an unknown group."""
        parsed = c.parse_all(spec.get("constraints", ()))
        for constraint in parsed:
            if not state.placement.known_label_key(constraint.key) and constraint.op not in ("!=", "notin", "absent"):
                raise InvalidArgument("spec.constraints", f"no host has a label {constraint.key!r}")
        strategy = spec.get("strategy") or self.settings.strategy
        if strategy not in STRATEGIES:
            raise InvalidArgument("spec.strategy", f"must be one of {', '.join(STRATEGIES)}, not {strategy!r}")
        group = None
        if spec.get("group"):
            group = rules.group_of(state, project, spec["group"])
            if group is None:
                raise NotFound(f"placement group {spec['group']!r} not found in project {project!r}")
        return PlacementRequest(
            volume_host=_volume_host(state, spec),
            demand=r.demand(spec), driver=_driver(spec), host_labels=spec.get("host_labels", {}),
            strategy=strategy, overcommit=self.settings.overcommit, reserved=self.settings.reserved,
            # A VM's image lives in the cluster state and is fetched by the host: any host fits.
            image=spec.get("image", "") if spec.get("kind", "container") == "container" else "",
            constraints=parsed, group=group, needs_vtep=bool(spec.get("subnet")))

    def choose(self, state, project: str, spec: dict) -> Decision:
        """The host for one new instance (see `place`)."""
        return self.place(state, self.request(state, project, spec))

    def _with_group_view(self, state, request: PlacementRequest, overlay: Overlay) -> PlacementRequest:
        group = request.group
        if group is None:
            return request
        counts = overlay.counts(group["id"], state.placement.group_counts.get(group["id"], {}))
        fewest = 0
        if group["policy"] == "spread" and not group["soft"]:
            fewest = rules.min_members(state, group, request.constraints, counts)
        return dataclasses.replace(request, group_counts=counts, group_min=fewest)

    # -- candidates ------------------------------------------------------------------

    def candidates(self, state, request: PlacementRequest) -> list[str]:
        if request.volume_host:     # an instance goes where its volumes live, or nowhere
            return [request.volume_host] if request.volume_host in state.hosts else []
        group = request.group
        if group is not None and group["policy"] == "affinity" and not group["soft"]:
            occupied = sorted(v for v, n in request.group_counts.items() if n > 0)
            if occupied:
                if group["domain"] == "host":
                    return occupied
                return sorted(state.placement.domain_values(group["domain"]).get(occupied[0], ()))
        key = (state.placement.version, tuple(sorted(
            (x.key, tuple(sorted(x.allowed_values()))) for x in request.constraints
            if x.allowed_values() is not None)))
        found = self._candidates.get(key)
        if found is None:
            if len(self._candidates) > 256:
                self._candidates.clear()
            found = self._candidates[key] = rules.candidate_ids(state, request.constraints)
        return found

    # -- deciding --------------------------------------------------------------------

    def place(self, state, request: PlacementRequest, overlay: Overlay | None = None) -> Decision:
        """The best of up to `limit` feasible hosts; ResourceExhausted (what each filter
        removed, over every host) or NOT_FOUND (no host has the image) when none fits."""
        overlay = overlay or Overlay()
        request = self._with_group_view(state, request, overlay)
        ids = self.candidates(state, request)
        hosts, filters, weighers = state.hosts, self.filters, self.weighers
        best, best_score, feasible = None, float("-inf"), 0
        if ids:
            start, n = self.rng.randrange(len(ids)), len(ids)
            for k in range(n):
                host = overlay.view(hosts[ids[(start + k) % n]])
                if first_failure(host, request, filters) is not None:
                    continue
                score, _ = weigh(host, request, weighers)
                feasible += 1
                if score > best_score or (score == best_score and host["id"] < best["id"]):
                    best, best_score = host, score
                if feasible >= self.settings.limit:
                    break
        if best is None:
            self._refuse(state, request, overlay)
        overlay.add(best, request)
        return Decision(best["id"], best_score, feasible)

    def place_many(self, state, requests: list[PlacementRequest]) -> list:
        """Decisions for several instances at once, each seeing the ones before it;
        a refusal is returned in place of its Decision."""
        overlay, decided = Overlay(), []
        for request in requests:
            try:
                decided.append(self.place(state, request, overlay))
            except (ResourceExhausted, NotFound) as err:
                decided.append(err)
        return decided

    def _refuse(self, state, request: PlacementRequest, overlay: Overlay):
        if request.image and not any(request.image in h.get("images", ()) for h in state.hosts.values()):
            raise NotFound(f"image {request.image!r} not found on any host")
        judged = self.scan(state, request, overlay)
        raise ResourceExhausted(explain(judged.rejected, judged.total))

    def scan(self, state, request: PlacementRequest, overlay: Overlay | None = None) -> Scan:
        overlay = overlay or Overlay()
        request = self._with_group_view(state, request, overlay)
        hosts = (overlay.view(state.hosts[h]) for h in state.placement.host_order)
        return scan(hosts, request, self.filters, self.weighers)

    def explain(self, state, request: PlacementRequest, top: int = 5) -> dict:
        """What placement would decide, judging every host: the chosen host, the best
        `top` candidates with each weigher's part, and what removed the others."""
        judged = self.scan(state, request)
        ranked = sorted(judged.scored, key=lambda s: (-s[0], s[1]))
        best = ranked[0] if ranked else None
        if best is None:
            summary = explain(judged.rejected, judged.total)
        else:
            summary = f"placed on {best[2]} ({len(ranked)} of {judged.total} hosts fit)"
        return {"placed": best is not None, "host_id": best[1] if best else "",
                "host_name": best[2] if best else "", "summary": summary,
                "candidates": ranked[:top], "rejected": judged.rejected,
                "total": judged.total, "feasible": len(ranked)}


def _volume_host(state, spec: dict) -> str:
    """The host holding the instance's volumes ('' when it has none): a create, a move
    after host loss and a drain all keep an instance beside its data."""
    for item in spec.get("volumes", ()):
        volume = state.volumes.get(item.get("volume_id", ""))
        if volume is not None:
            return volume["host_id"]
    return ""


def _driver(spec: dict) -> str:
    return {"container": "docker", "vm": "libvirt"}.get(spec.get("kind", "container"), spec.get("kind", "docker"))
