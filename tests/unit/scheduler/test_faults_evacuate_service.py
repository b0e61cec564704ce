"""The Evacuations servicer's answers to bad input, the leader's Evacuator driving an
evacuation to its end, and the drainer leaving an evacuated host alone — over the
real state machine, with a store that applies proposals in process."""
import threading

import grpc
import pytest

from common.errors import raise_for_result
from proto.v1 import evacuate_pb2 as epb
from scheduler.api.evacuations import EvacuationsServicer
from scheduler.config import SchedulerConfig
from scheduler.leader.drain import Drainer
from scheduler.leader.evacuation import Evacuator
from scheduler.state.machine import ClusterState

GiB = 1024**3


class InProcessStore:
    """The store's read side and a proposer that applies each command at once."""

    def __init__(self):
        self.state = ClusterState()
        self.read_lock = threading.RLock()
        self.index = 0
        self.proposed: list[str] = []

    def read(self):
        return self.state

    def _apply(self, op, args):
        self.index += 1
        self.proposed.append(op)
        return self.state.apply(op, args, {"rid": f"r{self.index}", "ts": 5000 + self.index, "index": self.index})

    # the Proposer's interface
    timeout = 1.0

    def propose(self, op, args, rid=None):
        return raise_for_result(self._apply(op, args))

    def propose_many(self, commands):
        return [self._apply(op, args) for op, args in commands]


class Aborted(Exception):
    def __init__(self, code, details):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


class Context:
    def abort(self, code, details):
        raise Aborted(code, details)


@pytest.fixture
def store():
    store = InProcessStore()
    for name in ("a", "b"):
        store._apply("host.join", {"id": f"h-{name}", "name": name, "address": "x:1",
                                   "capacity": {"vcpus": 8, "memory_bytes": 8 * GiB, "disk_bytes": 0},
                                   "drivers": ["compute:docker"], "images": ["img"]})
    for name, policy in (("web", "always"), ("job", "never")):
        store._apply("instance.create", {
            "id": f"i-{name}", "name": name, "project": "default", "labels": {}, "host_id": "h-a",
            "spec": {"image": "img", "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0, "restart_policy": policy},
            "overcommit": {}})
    return store


def servicer(store):
    return EvacuationsServicer(store, store, SchedulerConfig())


def call(store, method, request):
    return getattr(servicer(store), method)(request, Context())


@pytest.mark.parametrize("request_, code, words", [
    (epb.EvacuateHostRequest(name=""), grpc.StatusCode.INVALID_ARGUMENT, "name"),
    (epb.EvacuateHostRequest(name="a", parallel=65), grpc.StatusCode.INVALID_ARGUMENT, "parallel"),
    (epb.EvacuateHostRequest(name="a", parallel=-1), grpc.StatusCode.INVALID_ARGUMENT, "parallel"),
    (epb.EvacuateHostRequest(name="nope"), grpc.StatusCode.NOT_FOUND, "nope"),
])
def test_bad_input_is_refused_and_changes_nothing(store, request_, code, words):
    before = store.state.to_dict()
    with pytest.raises(Aborted) as err:
        call(store, "EvacuateHost", request_)
    assert err.value.code == code and words in err.value.details
    assert store.state.to_dict() == before


def test_the_only_up_host_is_refused_with_the_reason(store):
    store.state.hosts["h-b"]["state"] = "down"
    before = store.state.to_dict()
    with pytest.raises(Aborted) as err:
        call(store, "EvacuateHost", epb.EvacuateHostRequest(name="a"))
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION and "only host up" in err.value.details
    assert store.state.to_dict() == before and "host.evacuate" not in store.proposed
    with pytest.raises(Aborted) as err:
        call(store, "GetEvacuation", epb.GetEvacuationRequest(name="a"))
    assert err.value.code == grpc.StatusCode.NOT_FOUND


def test_the_evacuator_runs_an_evacuation_to_its_end(store):
    plan = call(store, "EvacuateHost", epb.EvacuateHostRequest(name="a", parallel=1))
    assert [(i.instance_name, i.status, i.to_host_name) for i in plan.items] == [
        ("job", "planned", "b"), ("web", "planned", "b")]
    assert plan.state == "running" and plan.summary == "2 planned"
    again = call(store, "EvacuateHost", epb.EvacuateHostRequest(name="a"))
    assert again.id == plan.id                                  # the running one, not a second
    evacuator = Evacuator(store, store, SchedulerConfig())     # one pass at a time, not started
    for name in ("job", "web"):
        evacuator.reconcile(term=1)
        moved = store.state.instances[f"i-{name}"]
        assert moved["host_id"] == "h-b"
        store._apply("instance.observe", {"id": moved["id"], "host_id": "h-b", "state": "running",
                                          "generation": moved["desired_generation"]})
    evacuator.reconcile(term=1)
    evacuator._pool.shutdown(wait=False)
    shown = call(store, "GetEvacuation", epb.GetEvacuationRequest(name="h-a"))
    assert shown.state == "done" and dict(shown.counts) == {"moved": 2} and shown.HasField("finished_at")


def test_the_drainer_leaves_an_evacuated_host_to_the_evacuator(store):
    call(store, "EvacuateHost", epb.EvacuateHostRequest(name="a"))
    store._apply("host.set_schedulable", {"id": "h-a", "mode": "draining"})
    assert Drainer(store, store, SchedulerConfig()).run() == 0
    assert "instance.move" not in store.proposed
