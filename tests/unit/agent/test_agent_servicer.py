"""The servicer's checks, fencing and journal keeping, over an in-memory compute driver."""
from __future__ import annotations

import threading
import time

import grpc
import pytest

from agent.compute.base import ComputeDriver, Observed, State
from agent.fencing import TermFence
from agent.journal import Journal
from agent.servicer import AgentServicer, InstanceLocks
from common.errors import NotFound
from proto.v1 import agent_pb2, resources_pb2


class MemoryDriver(ComputeDriver):
    """Instances as dict entries; `delay` makes ensure slow to expose interleavings."""

    name = "memory"
    spec_key = b"m" * 32

    def __init__(self):
        self.instances: dict[str, Observed] = {}
        self.calls: list[tuple] = []
        self.delay = 0.0

    def ensure(self, instance_id, name, project, spec, desired_state, was_desired=None):
        self.calls.append(("ensure", instance_id, desired_state))
        time.sleep(self.delay)
        if spec.image == "missing":
            return Observed(instance_id, State.INSTANCE_STATE_FAILED, reason="image missing not found on host")
        state = State.INSTANCE_STATE_RUNNING if desired_state == "running" else State.INSTANCE_STATE_STOPPED
        self.instances[instance_id] = Observed(instance_id, state, runtime_id=f"c-{instance_id}")
        return self.instances[instance_id]

    def remove(self, instance_id):
        self.calls.append(("remove", instance_id))
        return self.instances.pop(instance_id, None) is not None

    def list(self, desired_states=None):
        return list(self.instances.values())

    def observe(self, instance_id, desired_state=None):
        return self.instances.get(instance_id)

    def logs(self, instance_id, tail_lines=0):
        if instance_id not in self.instances:
            raise NotFound(f"instance {instance_id} has no container on this host")
        return b"line\n"

    def images(self):
        return ["img"]

    def fingerprint(self):
        return ["compute:memory"]


class Aborted(Exception):
    def __init__(self, code, details):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


class Context:
    def abort(self, code, details):
        raise Aborted(code, details)


class FixedUsage:
    def capacity(self):
        return resources_pb2.Resources(vcpus=2, memory_bytes=1 << 30, disk_bytes=1 << 34)

    def usage(self):
        return resources_pb2.Usage(memory_total_bytes=1 << 30)


@pytest.fixture
def parts(tmp_path):
    journal = Journal(tmp_path)
    driver = MemoryDriver()
    servicer = AgentServicer("host-1", journal, driver, TermFence(journal), FixedUsage())
    yield servicer, driver, journal
    journal.close()


def request(instance_id="i-1", term=1, desired="running", image="img"):
    return agent_pb2.EnsureInstanceRequest(
        fence=agent_pb2.Fence(term=term), instance_id=instance_id, name="web", project="default",
        desired_state=desired,
        spec=resources_pb2.InstanceSpec(image=image, vcpus=1, memory_bytes=1 << 26))


def test_ensure_records_the_instance(parts):
    servicer, driver, journal = parts
    observed = servicer.EnsureInstance(request(), Context())
    assert observed.state == State.INSTANCE_STATE_RUNNING and observed.runtime_id == "c-i-1"
    record = journal.instance("i-1")
    assert (record.runtime_id, record.desired_state, record.last_error) == ("c-i-1", "running", "")


def test_invalid_input_never_reaches_the_driver(parts):
    servicer, driver, _ = parts
    bad = request()
    bad.spec.memory_bytes = -1
    with pytest.raises(Aborted) as err:
        servicer.EnsureInstance(bad, Context())
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details == "spec.memory_bytes: must be positive, not -1"
    bad = request()
    bad.spec.env["A=B"] = "x"
    with pytest.raises(Aborted, match="spec.env"):
        servicer.EnsureInstance(bad, Context())
    assert driver.calls == []


def test_stale_terms_are_refused_before_the_driver_acts(parts):
    servicer, driver, journal = parts
    servicer.EnsureInstance(request(term=5), Context())
    with pytest.raises(Aborted) as err:
        servicer.EnsureInstance(request(term=4, desired="stopped"), Context())
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.details == "stale term 4 < 5"
    with pytest.raises(Aborted, match="stale term 4 < 5"):
        servicer.RemoveInstance(agent_pb2.RemoveInstanceRequest(
            fence=agent_pb2.Fence(term=4), instance_id="i-1"), Context())
    assert driver.calls == [("ensure", "i-1", "running")]
    assert journal.highest_term() == 5


def test_calls_for_one_instance_are_serialized(parts):
    servicer, driver, _ = parts
    driver.delay = 0.2
    threads = [threading.Thread(target=servicer.EnsureInstance, args=(request(desired=d), Context()))
               for d in ("running", "stopped")]
    active = []
    original = driver.ensure

    def tracking(*args, **kwargs):
        active.append(1)
        assert len(active) == 1, "two ensures of one instance ran at once"
        try:
            return original(*args, **kwargs)
        finally:
            active.pop()

    driver.ensure = tracking
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(driver.calls) == 2


def test_instance_locks_are_dropped_when_released():
    locks = InstanceLocks()
    with locks.hold("a"), locks.hold("b"):
        assert set(locks._locks) == {"a", "b"}
    assert locks._locks == {}


def test_a_failure_without_runtime_object_is_reported_until_fixed(parts):
    servicer, _, journal = parts
    observed = servicer.EnsureInstance(request(image="missing"), Context())
    assert observed.state == State.INSTANCE_STATE_FAILED
    listed = servicer.ListInstances(agent_pb2.ListAgentInstancesRequest(), Context()).instances
    assert [(i.instance_id, i.state, i.reason) for i in listed] == [
        ("i-1", State.INSTANCE_STATE_FAILED, "image missing not found on host")]
    servicer.EnsureInstance(request(), Context())
    assert journal.instance("i-1").last_error == ""


def test_a_journalled_instance_whose_runtime_vanished_is_reported_failed(parts):
    servicer, driver, _ = parts
    servicer.EnsureInstance(request(), Context())
    driver.instances.clear()
    [item] = servicer.ListInstances(agent_pb2.ListAgentInstancesRequest(), Context()).instances
    assert item.state == State.INSTANCE_STATE_FAILED
    assert item.reason == "its container is gone from the engine"


def test_remove_forgets_and_says_whether_it_existed(parts):
    servicer, _, journal = parts
    servicer.EnsureInstance(request(), Context())
    remove = agent_pb2.RemoveInstanceRequest(fence=agent_pb2.Fence(term=1), instance_id="i-1")
    assert servicer.RemoveInstance(remove, Context()).existed
    assert journal.instance("i-1") is None
    assert not servicer.RemoveInstance(remove, Context()).existed


def test_logs_and_info(parts):
    servicer, _, journal = parts
    with pytest.raises(Aborted) as err:
        servicer.InstanceLogs(agent_pb2.AgentInstanceLogsRequest(instance_id="i-9"), Context())
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    servicer.EnsureInstance(request(term=3), Context())
    assert servicer.InstanceLogs(agent_pb2.AgentInstanceLogsRequest(instance_id="i-1"), Context()).data == b"line\n"
    journal.set_host_id("h-1")
    info = servicer.GetInfo(agent_pb2.GetAgentInfoRequest(), Context())
    assert (info.host_name, info.host_id, info.highest_term) == ("host-1", "h-1", 3)
    assert list(info.drivers) == ["compute:memory"] and info.capacity.vcpus == 2
