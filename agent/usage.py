"""What this host offers (capacity) and what it is using now (usage), measured with psutil."""
from __future__ import annotations

import os
from pathlib import Path

import psutil

from proto.v1 import resources_pb2


def _host_vcpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _existing(path: Path) -> Path:
    """`path` or its nearest existing parent: disk_usage needs a path that exists."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


class HostUsage:
    """Capacity (configured or detected) and live usage of the host holding `data_dir`."""

    def __init__(self, data_dir: Path, vcpus: int = 0, memory_bytes: int = 0, disk_bytes: int = 0):
        self.data_dir = Path(data_dir)
        self._capacity = resources_pb2.Resources(
            vcpus=vcpus or _host_vcpus(),
            memory_bytes=memory_bytes or psutil.virtual_memory().total,
            disk_bytes=disk_bytes or psutil.disk_usage(str(_existing(self.data_dir))).total)
        # psutil measures CPU between two calls: this first one starts the clock.
        psutil.cpu_percent(interval=None)

    def capacity(self) -> resources_pb2.Resources:
        capacity = resources_pb2.Resources()
        capacity.CopyFrom(self._capacity)
        return capacity

    def usage(self) -> resources_pb2.Usage:
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(_existing(self.data_dir)))
        return resources_pb2.Usage(
            cpu_percent=psutil.cpu_percent(interval=None),
            memory_used_bytes=memory.total - memory.available,
            memory_total_bytes=memory.total,
            disk_used_bytes=disk.used,
            disk_total_bytes=disk.total,
            load1=os.getloadavg()[0])
