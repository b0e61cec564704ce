"""Host filters: each answers one question about one host.

`reason` names, for the explanation of a refusal, why the filter removed a
host ("short of memory"); `reason_for(request)` may make it precise
("violate anti-affinity 'db'").
"""
from __future__ import annotations

from scheduler.rules import constraints as c
from scheduler.rules import groups as g
from scheduler.state import records as r


class HostFilter:
    """Removes hosts that cannot take a request."""

    reason = ""

    def host_passes(self, host: dict, request) -> bool:
        raise NotImplementedError

    def reason_for(self, request) -> str:
        return self.reason


class HostUpFilter(HostFilter):
    reason = "down"

    def host_passes(self, host, request):
        return host.get("state") == r.HOST_UP


class HealthyFilter(HostFilter):
    """Up but the leader's calls to its agent fail (scheduler/leader/host_health.py)."""

    reason = "unhealthy"

    def host_passes(self, host, request):
        return not host.get("unhealthy")


class SchedulableFilter(HostFilter):
    """Cordoned, draining and in-maintenance hosts take no new instances."""

    reason = "cordoned or draining"

    def host_passes(self, host, request):
        return host.get("schedulable", g.ACTIVE) == g.ACTIVE


class DriverFilter(HostFilter):
    reason = "no driver for the instance kind"

    def host_passes(self, host, request):
        return f"compute:{request.driver}" in host.get("drivers", ())


class ImageFilter(HostFilter):
    """There is no registry: the image must already be on the host."""

    reason = "without the image"

    def host_passes(self, host, request):
        return not request.image or request.image in host.get("images", ())


class VtepFilter(HostFilter):
    """An instance with a VPC port needs a host with VPC networking."""

    reason = "without VPC networking"

    def host_passes(self, host, request):
        return not request.needs_vtep or bool(host.get("vtep"))


class LabelFilter(HostFilter):
    reason = "labels do not match"

    def host_passes(self, host, request):
        labels = host.get("labels", {})
        return all(labels.get(key) == value for key, value in request.host_labels.items())


class ConstraintFilter(HostFilter):
    reason = "do not match the constraints"

    def host_passes(self, host, request):
        return c.matches_all(request.constraints, host.get("labels", {}))


class _CapacityFilter(HostFilter):
    key = ""

    def host_passes(self, host, request):
        need = request.demand[self.key]
        if not need:
            return True
        limit = (host["capacity"].get(self.key, 0) * request.overcommit.get(self.key, 1.0)
                 - request.reserved.get(self.key, 0))
        return host["allocated"].get(self.key, 0) + need <= limit


class CpuFilter(_CapacityFilter):
    key, reason = "vcpus", "short of vcpus"


class MemoryFilter(_CapacityFilter):
    key, reason = "memory_bytes", "short of memory"


class DiskFilter(_CapacityFilter):
    key, reason = "disk_bytes", "short of disk"


class GroupFilter(HostFilter):
    """A hard group rule: anti-affinity, affinity or spread over a failure domain."""

    reason = "violate the placement group"

    def host_passes(self, host, request):
        group = request.group
        if group is None or group["soft"]:
            return True
        value = g.domain_value(host, group["domain"])
        return g.violation(group, request.group_counts, value, request.group_min) is None

    def reason_for(self, request) -> str:
        group = request.group
        if group is None:
            return self.reason
        return f"violate {group['policy']} '{group['name']}'"


class VolumeHostFilter(HostFilter):
    """An instance with volumes runs on the host whose pool holds them."""

    reason = "not the host of its volumes"

    def host_passes(self, host, request):
        return not request.volume_host or host["id"] == request.volume_host


DEFAULT_FILTERS = (HostUpFilter(), HealthyFilter(), SchedulableFilter(), DriverFilter(), ImageFilter(), VtepFilter(),
                   LabelFilter(), ConstraintFilter(), CpuFilter(), MemoryFilter(), DiskFilter(), GroupFilter(),
                   VolumeHostFilter())
