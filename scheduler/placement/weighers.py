"""Host weighers: each scores a host that passed the filters; higher is better."""
from __future__ import annotations


def _free_share(host: dict, request, key: str) -> float:
    limit = host["capacity"].get(key, 0) * request.overcommit.get(key, 1.0)
    if limit <= 0:
        return 0.0
    return (limit - host["allocated"].get(key, 0) - request.demand[key]) / limit


class HostWeigher:
    weight = 1.0

    def weigh(self, host: dict, request) -> float:
        raise NotImplementedError


class FreeMemoryWeigher(HostWeigher):
    """Spread prefers the host with the most free memory; binpack the least."""

    def weigh(self, host, request):
        share = _free_share(host, request, "memory_bytes")
        return share if request.strategy == "spread" else -share


class FreeCpuWeigher(HostWeigher):
    weight = 0.5

    def weigh(self, host, request):
        share = _free_share(host, request, "vcpus")
        return share if request.strategy == "spread" else -share


DEFAULT_WEIGHERS = (FreeMemoryWeigher(), FreeCpuWeigher())
STRATEGIES = ("spread", "binpack")
