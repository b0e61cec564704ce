"""Drain waves, the liveness writer and the reconcile pacer, over a state machine
applied in-process (a local stand-in for the Raft store: these test the decisions,
not replication)."""
import threading
from types import SimpleNamespace

from placement_fixtures import GiB, apply, create, group, join, ok

from scheduler.leader import liveness
from scheduler.leader.drain import Drainer, orphans
from scheduler.leader.reconcile_pacing import ReconcilePacer
from scheduler.state.machine import ClusterState

CONFIG = SimpleNamespace(placement_strategy="spread", cpu_overcommit=1.0, memory_overcommit=1.0,
                         disk_overcommit=1.0, overcommit=lambda: {"vcpus": 1.0}, placement_candidates=6,
                         heartbeat_interval=1.0, heartbeats_per_second=500.0, host_down_after=10.0,
                         liveness_flush_interval=1.0, usage_write_interval=30.0, reconcile_interval=1.0)


class LocalStore:
    """Applies proposals to one ClusterState at once (no Raft)."""

    def __init__(self, state):
        self.state = state
        self.read_lock = threading.RLock()
        self.proposed = []

    def read(self):
        return self.state


class LocalProposer:
    def __init__(self, store):
        self.store = store

    def propose_many(self, commands):
        self.store.proposed.extend(commands)
        return [apply(self.store.state, op, args) for op, args in commands]

    def propose(self, op, args):
        return self.propose_many([(op, args)])[0]


def drained_cluster():
    state = ClusterState()
    for name, zone in (("a1", "a"), ("a2", "a"), ("b1", "b"), ("b2", "b"), ("c1", "c")):
        join(state, name, zone=zone)
    create(state, "web-a", "h-a1", restart_policy="always")
    create(state, "job-a", "h-a1", restart_policy="never")
    create(state, "web-b", "h-b1", restart_policy="on-failure")
    store = LocalStore(state)
    return state, store, Drainer(store, LocalProposer(store), CONFIG)


def test_drain_moves_restartable_instances_one_domain_at_a_time():
    state, store, drainer = drained_cluster()
    ok(state, "host.set_schedulable", {"id": "h-a1", "mode": "draining"})
    ok(state, "host.set_schedulable", {"id": "h-b1", "mode": "maintenance"})
    assert drainer.run() == 1                         # zone a first
    moved = state.instances["i-web-a"]
    assert moved["host_id"] not in ("h-a1", "h-b1") and moved["state"] == "pending"
    assert state.instances["i-job-a"]["host_id"] == "h-a1"      # restart policy never: stays
    assert state.instances["i-web-b"]["host_id"] == "h-b1"
    assert drainer.run() == 0                         # the first wave has not started again yet
    ok(state, "instance.observe", {"id": "i-web-a", "host_id": moved["host_id"], "state": "running"})
    assert drainer.run() == 1                         # now zone b
    assert state.instances["i-web-b"]["host_id"] not in ("h-a1", "h-b1")
    assert state.hosts["h-a1"]["allocated"]["vcpus"] == 1


def test_a_cordoned_host_is_not_drained():
    state, store, drainer = drained_cluster()
    ok(state, "host.set_schedulable", {"id": "h-a1", "mode": "cordoned"})
    assert drainer.run() == 0 and store.proposed == []


def test_orphans_are_what_an_agent_runs_that_is_no_longer_its_own():
    assert orphans({"i-1": 0, "i-2": 0}, {"i-2": {}, "i-3": {}}) == ["i-1"]


def test_heartbeats_that_change_nothing_are_batched_into_one_alive_command():
    state = ClusterState()
    join(state, "h0")
    store = LocalStore(state)
    writer = liveness.HeartbeatWriter(store, LocalProposer(store), CONFIG)
    writer._start_flusher = lambda: None              # flushed by hand below
    beat = {"id": "h-h0", "usage": {"cpu_percent": 1.0}, "images": state.hosts["h-h0"]["images"]}
    writer.write(state.hosts["h-h0"], [("host.heartbeat", beat)])
    assert store.proposed == [] and writer._alive == {"h-h0"}          # noted, usage due: kept for the flush
    assert writer._usage == {"h-h0": beat}
    writer.write(state.hosts["h-h0"], [("host.heartbeat", dict(beat, usage={"cpu_percent": 9.0}))])
    assert store.proposed == [] and writer._usage == {"h-h0": beat}    # usage not due again yet
    writer.write(state.hosts["h-h0"], [("host.heartbeat", dict(beat, images=["new:1"]))])
    assert [op for op, _ in store.proposed] == ["host.heartbeat"]      # a change: written at once
    observe = ("instance.observe", {"id": "i-x", "host_id": "h-h0", "state": "running"})
    writer.write(state.hosts["h-h0"], [("host.heartbeat", beat), observe])
    assert len(store.proposed) == 3
    before = state.hosts["h-h0"]["last_heartbeat_ms"]
    result = ok(state, "host.alive", {"ids": ["h-h0", "h-unknown"]})
    assert result == {"hosts": 1} and state.hosts["h-h0"]["last_heartbeat_ms"] > before


def test_the_heartbeat_interval_and_ttl_stretch_with_the_fleet():
    assert liveness.heartbeat_interval(CONFIG, 100) == 1.0
    assert liveness.heartbeat_interval(CONFIG, 5000) == 10.0
    assert liveness.down_after_ms(CONFIG, 100) == 10_000
    assert liveness.down_after_ms(CONFIG, 5000) == 31_000


def test_alive_does_not_revive_a_down_host():
    state = ClusterState()
    join(state, "h0")
    apply(state, "host.mark_down", {"id": "h-h0", "ttl_ms": 0})
    assert ok(state, "host.alive", {"ids": ["h-h0"]}) == {"hosts": 0}
    assert state.hosts["h-h0"]["state"] == "down"


def test_the_pacer_visits_touched_hosts_and_the_rest_in_turn():
    state = ClusterState()
    for n in range(3):
        join(state, f"h{n}")
    store = LocalStore(state)
    pacer = ReconcilePacer(store, CONFIG)
    hosts = list(state.hosts.values())
    assert [h["id"] for h in pacer.due(hosts)] == ["h-h0", "h-h1", "h-h2"]    # nothing visited yet
    assert pacer.due(hosts) == []                                              # all visited just now
    create(state, "x", "h-h1")
    pacer._on_applied(9, [{"op": "instance.create", "args": {"id": "i-x", "host_id": "h-h1"}}], [{}])
    assert [h["id"] for h in pacer.due(hosts)] == ["h-h1"]
    assert pacer.pass_due(3)


def test_group_rules_need_the_domain_label():
    state = ClusterState()
    join(state, "bare", vcpus=2, memory=2 * GiB)
    group(state, "db", "spread", domain="zone")
    result = create(state, "a", "h-bare", group="db")
    assert "no zone label" in result["error"]["message"]
