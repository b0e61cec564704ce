"""Host filters: each answers one question about one host."""
from __future__ import annotations

from scheduler.state import records as r


class HostFilter:
    """Removes hosts that cannot take a request; `reason` names why, for the explanation."""

    reason = ""

    def host_passes(self, host: dict, request) -> bool:
        raise NotImplementedError


class HostUpFilter(HostFilter):
    reason = "down"

    def host_passes(self, host, request):
        return host.get("state") == r.HOST_UP


class DriverFilter(HostFilter):
    reason = "no driver for the instance kind"

    def host_passes(self, host, request):
        return f"compute:{request.driver}" in host.get("drivers", ())


class LabelFilter(HostFilter):
    reason = "labels do not match"

    def host_passes(self, host, request):
        labels = host.get("labels", {})
        return all(labels.get(key) == value for key, value in request.host_labels.items())


class _CapacityFilter(HostFilter):
    key = ""

    def host_passes(self, host, request):
        need = request.demand[self.key]
        if not need:
            return True
        limit = host["capacity"].get(self.key, 0) * request.overcommit.get(self.key, 1.0)
        return host["allocated"].get(self.key, 0) + need <= limit


class CpuFilter(_CapacityFilter):
    key, reason = "vcpus", "short of vcpus"


class MemoryFilter(_CapacityFilter):
    key, reason = "memory_bytes", "short of memory"


class DiskFilter(_CapacityFilter):
    key, reason = "disk_bytes", "short of disk"


DEFAULT_FILTERS = (HostUpFilter(), DriverFilter(), LabelFilter(), CpuFilter(), MemoryFilter(),
                   DiskFilter())
