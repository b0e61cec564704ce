"""Compute drivers declare what they can do; callers check the declaration, and a
missing capability is one clear FAILED_PRECONDITION."""
from __future__ import annotations

import grpc
import pytest

from agent.compute.base import Capability, ComputeDriver, InstanceSpec, Observed, State
from agent.compute.docker import DockerDriver
from agent.compute.libvirt import LibvirtDriver
from agent.compute.router import KindRouter
from agent.fencing import TermFence
from agent.host_spec import RequestedSpec
from agent.journal import Journal
from agent.machines import AgentMachinesServicer
from agent.volume_servicer import attach_volumes, vm_disk_grower
from common.errors import FailedPrecondition, NotFound
from proto.v1 import agent_pb2, images_pb2

# The method each optional capability stands for.
METHODS = {Capability.REBOOT: "reboot", Capability.DISK_GROWTH: "grow_volume_disk",
           Capability.NETNS_PORTS: "sandbox_pid"}


class FakeDriver(ComputeDriver):
    """Instances as a set; `calls` records the optional calls that reached it."""

    spec_key = b"f" * 32

    def __init__(self, name: str, kind: str, capabilities: Capability, instances=()):
        self.name, self.kind, self.capabilities = name, kind, capabilities
        self.instances = set(instances)
        self.calls: list[tuple] = []

    def ensure(self, instance_id, name, project, spec, desired_state, was_desired=None):
        raise AssertionError("not called")

    def remove(self, instance_id):
        return False

    def list(self, desired_states=None):
        return []

    def observe(self, instance_id, desired_state=None):
        return Observed(instance_id, State.INSTANCE_STATE_RUNNING) if instance_id in self.instances else None

    def logs(self, instance_id, tail_lines=0):
        raise NotFound(instance_id)

    def images(self):
        return []

    def fingerprint(self):
        return [f"compute:{self.name}"]

    def reboot(self, instance_id, hard=False):
        if not self.supports(Capability.REBOOT):
            return super().reboot(instance_id, hard)
        self.calls.append(("reboot", instance_id, hard))

    def grow_volume_disk(self, instance_id, volume_id, size_bytes):
        if not self.supports(Capability.DISK_GROWTH):
            return super().grow_volume_disk(instance_id, volume_id, size_bytes)
        self.calls.append(("grow", instance_id, volume_id, size_bytes))
        return instance_id in self.instances

    def close(self):
        self.calls.append(("close",))


def containers(*instances):
    return FakeDriver("docker", "container", DockerDriver.capabilities, instances)


def vms(*instances):
    return FakeDriver("libvirt", "vm", LibvirtDriver.capabilities, instances)


@pytest.mark.parametrize("driver_class", [DockerDriver, LibvirtDriver])
def test_a_driver_implements_exactly_what_it_declares(driver_class):
    for capability, method in METHODS.items():
        implemented = getattr(driver_class, method) is not getattr(ComputeDriver, method)
        assert implemented == (capability in driver_class.capabilities), (driver_class.name, capability)
    assert driver_class.capabilities != Capability.NONE and driver_class.kind


def test_what_the_real_drivers_declare():
    assert DockerDriver.capabilities == Capability.VOLUME_MOUNTS | Capability.NETNS_PORTS
    assert LibvirtDriver.capabilities == Capability.REBOOT | Capability.DISK_HOTPLUG | Capability.DISK_GROWTH
    assert (DockerDriver.kind, LibvirtDriver.kind) == ("container", "vm")


def test_a_missing_capability_is_one_failed_precondition():
    driver = containers("i-1")
    assert driver.supports(Capability.VOLUME_MOUNTS) and not driver.supports(Capability.REBOOT)
    assert not driver.supports(Capability.VOLUME_MOUNTS | Capability.REBOOT)
    driver.require(Capability.VOLUME_MOUNTS | Capability.NETNS_PORTS)
    with pytest.raises(FailedPrecondition, match=r"compute driver \(docker\) cannot reboot instances$"):
        driver.reboot("i-1")
    with pytest.raises(FailedPrecondition, match="cannot reboot instances, grow volume disks$"):
        driver.require(Capability.REBOOT | Capability.DISK_GROWTH | Capability.VOLUME_MOUNTS)
    with pytest.raises(FailedPrecondition, match="cannot grow volume disks"):
        driver.grow_volume_disk("i-1", "v-0001", 1 << 20)
    assert driver.calls == []


def test_the_router_can_what_its_drivers_can_and_asks_only_those():
    docker, libvirt = containers("c-1"), vms("v-1")
    router = KindRouter([docker, libvirt])
    assert router.capabilities == DockerDriver.capabilities | LibvirtDriver.capabilities
    assert router.for_kind("vm") is libvirt and router.for_kind("container") is docker
    assert router.for_kind("toaster") is None and router.kinds() == ["container", "vm"]
    router.reboot("v-1", hard=True)
    assert libvirt.calls == [("reboot", "v-1", True)] and docker.calls == []
    with pytest.raises(NotFound):
        router.reboot("c-1")       # a container: no driver that can reboot knows it
    assert router.grow_volume_disk("v-1", "v-0001", 1 << 20) is True
    assert router.grow_volume_disk("c-1", "v-0001", 1 << 20) is False
    assert docker.calls == []
    router.close()
    assert ("close",) in docker.calls and ("close",) in libvirt.calls
    with pytest.raises(FailedPrecondition, match="cannot reboot"):
        KindRouter([containers("c-1")]).reboot("c-1")
    with pytest.raises(ValueError):
        KindRouter([containers(), containers()])


def test_only_a_driver_with_disk_growth_gets_the_grow_hook():
    assert vm_disk_grower(containers()) is None
    libvirt = vms("v-1")
    grow = vm_disk_grower(KindRouter([containers(), libvirt]))
    assert grow is not None and grow("v-1", "v-0001", 2 << 20) is True
    assert libvirt.calls == [("grow", "v-1", "v-0001", 2 << 20)]


class Aborted(Exception):
    pass


class Context:
    def abort(self, code, details):
        raise Aborted(code, details)


def test_reboot_on_a_host_that_cannot_is_failed_precondition(tmp_path):
    journal = Journal(tmp_path)
    try:
        machines = AgentMachinesServicer(containers("c-1"), TermFence(journal))
        with pytest.raises(Aborted) as err:
            machines.Reboot(images_pb2.AgentRebootRequest(fence=agent_pb2.Fence(term=1), instance_id="c-1"),
                            Context())
        assert err.value.args == (grpc.StatusCode.FAILED_PRECONDITION,
                                  "this host's compute driver (docker) cannot reboot instances")
        libvirt = vms("v-1")
        AgentMachinesServicer(libvirt, TermFence(journal)).Reboot(
            images_pb2.AgentRebootRequest(fence=agent_pb2.Fence(term=1), instance_id="v-1"), Context())
        assert libvirt.calls == [("reboot", "v-1", False)]
    finally:
        journal.close()


class NoVolumes:
    """A HostVolumes that must not be reached."""

    def __getattr__(self, name):
        raise AssertionError(f"{name} called")


def test_volumes_need_a_driver_that_can_take_them():
    wanted = RequestedSpec(agent_pb2.HostInstanceSpec(volumes=[agent_pb2.HostVolume(volume_id="v-0001",
                                                                                    path="/data")]))
    spec = InstanceSpec(image="img", vcpus=1, memory_bytes=64)
    plain = FakeDriver("plain", "container", Capability.NONE)
    with pytest.raises(FailedPrecondition, match=r"compute driver \(plain\) cannot mount volumes"):
        attach_volumes(NoVolumes(), "i-1", wanted, spec, plain)
    with pytest.raises(FailedPrecondition, match="no instances of kind 'container'"):
        attach_volumes(NoVolumes(), "i-1", wanted, spec, None)
    assert attach_volumes(NoVolumes(), "i-1", RequestedSpec(agent_pb2.HostInstanceSpec()), spec, plain) is spec
