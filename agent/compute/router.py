"""One agent, several compute drivers: each instance goes to the driver of its kind.

The agent's servicer sees a single ComputeDriver; this one hands each call to the
driver for the instance's kind (each driver declares its `kind`: docker runs
"container", libvirt "vm"), and merges what they report. Calls keyed only by
instance id ask every driver: each one only ever sees its own objects. It can do
what any of its drivers can (the union of their capabilities), and hands an
optional call only to the drivers that declare it.
"""
from __future__ import annotations

import functools
import operator
from typing import Mapping

from agent.compute.base import Capability, ComputeDriver, InstanceSpec, Observed, State
from common.errors import NotFound


class KindRouter(ComputeDriver):
    name = "router"

    def __init__(self, drivers: list[ComputeDriver]):
        self.drivers = list(drivers)
        self.by_kind = {d.kind: d for d in self.drivers}
        if len(self.by_kind) != len(self.drivers):
            raise ValueError(f"two compute drivers for one kind: {[d.name for d in self.drivers]}")
        self.spec_key = self.drivers[0].spec_key     # select.py gives them all the agent's key
        self.capabilities = functools.reduce(operator.or_, (d.capabilities for d in self.drivers),
                                             Capability.NONE)

    def kinds(self) -> list[str]:
        return sorted(self.by_kind)

    def for_kind(self, kind: str) -> ComputeDriver | None:
        return self.by_kind.get(kind)

    def ensure(self, instance_id: str, name: str, project: str, spec: InstanceSpec,
               desired_state: str, was_desired: str | None = None) -> Observed:
        driver = self.by_kind.get(spec.kind)
        if driver is None:
            return Observed(instance_id=instance_id, state=State.INSTANCE_STATE_FAILED,
                            reason=f"this host runs no instances of kind {spec.kind!r}")
        return driver.ensure(instance_id, name, project, spec, desired_state, was_desired)

    def remove(self, instance_id: str) -> bool:
        removed = [driver.remove(instance_id) for driver in self.drivers]
        return any(removed)

    def list(self, desired_states: Mapping[str, str] | None = None) -> list[Observed]:
        return [item for driver in self.drivers for item in driver.list(desired_states)]

    def observe(self, instance_id: str, desired_state: str | None = None) -> Observed | None:
        for driver in self.drivers:
            found = driver.observe(instance_id, desired_state)
            if found is not None:
                return found
        return None

    def logs(self, instance_id: str, tail_lines: int = 0) -> bytes:
        for driver in self.drivers:
            try:
                return driver.logs(instance_id, tail_lines)
            except NotFound:
                continue
        raise NotFound(f"instance {instance_id} is not on this host")

    def _able(self, capability: Capability) -> list[ComputeDriver]:
        return [driver for driver in self.drivers if driver.supports(capability)]

    def reboot(self, instance_id: str, hard: bool = False) -> None:
        """Reboot the instance; NotFound when no driver that can reboot knows it."""
        self.require(Capability.REBOOT)
        for driver in self._able(Capability.REBOOT):
            if driver.observe(instance_id) is not None:
                return driver.reboot(instance_id, hard)
        raise NotFound(f"instance {instance_id} is not a VM on this host")

    def grow_volume_disk(self, instance_id: str, volume_id: str, size_bytes: int) -> bool:
        self.require(Capability.DISK_GROWTH)
        return any(driver.grow_volume_disk(instance_id, volume_id, size_bytes)
                   for driver in self._able(Capability.DISK_GROWTH))

    def images(self) -> list[str]:
        return sorted({image for driver in self.drivers for image in driver.images()})

    def fingerprint(self) -> list[str]:
        return [item for driver in self.drivers for item in driver.fingerprint()]

    def sandbox_pid(self, instance_id: str) -> int | None:
        for driver in self._able(Capability.NETNS_PORTS):
            pid = driver.sandbox_pid(instance_id)
            if pid is not None:
                return pid
        return None

    def close(self) -> None:
        for driver in self.drivers:
            driver.close()
