"""Host health: per-host backoff of failing agent calls, the unhealthy mark in the
state machine, and placement keeping new instances away from an unhealthy host."""
import grpc
import pytest

from common.errors import ResourceExhausted
from scheduler.leader.host_health import UNHEALTHY_AFTER_S, HostHealth, MAX_DELAY, reason_of, transport_failure
from scheduler.placement.engine import PlacementRequest, place
from scheduler.state.machine import ClusterState

GiB = 1024**3


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Failed(grpc.RpcError):
    def __init__(self, code, details="x"):
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details


def ctx(index):
    return {"rid": f"r{index}", "ts": 1_000_000 + index, "index": index}


def joined(*names):
    state = ClusterState()
    for n, name in enumerate(names, start=1):
        state.apply("host.join", {"id": f"h-{name}", "name": name, "address": f"{name}:7300",
                                  "capacity": {"vcpus": 4, "memory_bytes": 8 * GiB, "disk_bytes": 0},
                                  "drivers": ["compute:docker"], "images": ["img"]}, ctx(n))
    return state


def test_a_failing_host_backs_off_alone_and_is_unhealthy_after_failing_for_a_while():
    clock = Clock()
    health = HostHealth(clock)
    assert health.due("a") and health.due("b")
    assert health.failed("a") is False            # one failure: back off, not yet unhealthy
    assert not health.due("a") and health.due("b")
    clock.now += 0.5
    assert health.due("a")
    assert health.failed("a") is False            # two, but within a restart's time
    clock.now += UNHEALTHY_AFTER_S
    assert health.failed("a") is True
    for _ in range(20):
        health.failed("a")
    clock.now += MAX_DELAY - 0.01
    assert not health.due("a")                    # the delay grows, capped
    clock.now += 0.02
    assert health.due("a")
    health.succeeded("a")
    assert health.failed("a") is False            # counting starts again
    health.forget({"b"})
    assert health.due("a")


class Store:
    """Just what HostHealth.watch uses of the store: read() and watch(callback)."""

    def __init__(self, state):
        self.state, self.callback = state, None

    def read(self):
        return self.state

    def watch(self, callback):
        self.callback = callback
        return lambda: None


def test_a_join_ends_the_backoff():
    clock = Clock()
    health = HostHealth(clock)
    store = Store(joined("a"))
    health.watch(store)
    health.failed("h-a")
    health.failed("h-a")
    assert not health.due("h-a")
    store.callback(5, [{"op": "host.join", "args": {"name": "a", "id": "new"}}], [{}])
    assert health.due("h-a")
    health.failed("h-a")
    store.callback(6, None, None)                 # a snapshot: everything afresh
    assert health.due("h-a")


def test_only_transport_failures_count():
    assert transport_failure(Failed(grpc.StatusCode.DEADLINE_EXCEEDED))
    assert transport_failure(Failed(grpc.StatusCode.UNAVAILABLE))
    assert not transport_failure(Failed(grpc.StatusCode.FAILED_PRECONDITION))
    assert reason_of(Failed(grpc.StatusCode.DEADLINE_EXCEEDED, "Deadline Exceeded")) == \
        "calls to its agent fail: DEADLINE_EXCEEDED (Deadline Exceeded)"


def test_set_health_marks_and_clears_and_down_wins():
    state = joined("a", "b")
    result = state.apply("host.set_health", {"id": "h-a", "unhealthy": "calls fail"}, ctx(10))
    assert result == {"unhealthy": "calls fail", "changed": True}
    assert state.apply("host.set_health", {"id": "h-a", "unhealthy": "calls fail"}, ctx(11))["changed"] is False
    assert state.hosts["h-a"]["revision"] == 10
    state.apply("host.set_health", {"id": "h-a", "unhealthy": ""}, ctx(12))
    assert state.hosts["h-a"]["unhealthy"] == ""
    state.apply("host.set_health", {"id": "h-a", "unhealthy": "calls fail"}, ctx(13))
    state.apply("host.mark_down", {"id": "h-a", "ttl_ms": 1}, ctx(5000))
    assert state.hosts["h-a"]["unhealthy"] == ""   # down says more
    assert state.apply("host.set_health", {"id": "h-a", "unhealthy": "x"}, ctx(5001))["changed"] is False
    assert state.apply("host.set_health", {"id": "h-nope", "unhealthy": "x"}, ctx(5002))["error"]["code"] == \
        "NOT_FOUND"


def test_placement_skips_an_unhealthy_host_and_says_so():
    state = joined("a", "b")
    state.apply("host.set_health", {"id": "h-a", "unhealthy": "calls fail"}, ctx(10))
    request = PlacementRequest(demand={"vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0}, image="img")
    for _ in range(5):
        assert place(list(state.hosts.values()), request).host_id == "h-b"
    state.apply("host.set_health", {"id": "h-b", "unhealthy": "calls fail"}, ctx(11))
    with pytest.raises(ResourceExhausted, match="2 unhealthy"):
        place(list(state.hosts.values()), request)
