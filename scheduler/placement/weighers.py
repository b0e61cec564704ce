"""Host weighers: each scores a host that passed the filters; higher is better.

A weigher's score is in [-1, 1]; `weight` says how much it counts against the
others. `name` labels it in explanations.
"""
from __future__ import annotations

from scheduler.rules import groups as g


def _free_share(host: dict, request, key: str) -> float:
    limit = host["capacity"].get(key, 0) * request.overcommit.get(key, 1.0) - request.reserved.get(key, 0)
    if limit <= 0:
        return 0.0
    return (limit - host["allocated"].get(key, 0) - request.demand[key]) / limit


class HostWeigher:
    weight = 1.0
    name = ""

    def weigh(self, host: dict, request) -> float:
        raise NotImplementedError


class FreeMemoryWeigher(HostWeigher):
    """Spread prefers the host with the most free memory; binpack the least."""

    name = "memory"

    def weigh(self, host, request):
        share = _free_share(host, request, "memory_bytes")
        return share if request.strategy == "spread" else -share


class FreeCpuWeigher(HostWeigher):
    weight = 0.5
    name = "vcpus"

    def weigh(self, host, request):
        share = _free_share(host, request, "vcpus")
        return share if request.strategy == "spread" else -share


class GroupWeigher(HostWeigher):
    """Soft group rules (and hard ones, among the hosts they allow): fewer members
    of the group in the host's domain is better, except for affinity."""

    weight = 2.0
    name = "group"

    def weigh(self, host, request):
        group = request.group
        if group is None:
            return 0.0
        return g.soft_score(group, request.group_counts, g.domain_value(host, group["domain"]))


DEFAULT_WEIGHERS = (FreeMemoryWeigher(), FreeCpuWeigher(), GroupWeigher())
STRATEGIES = ("spread", "binpack")
