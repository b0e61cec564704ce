"""Events are derived in apply: same commands, same events on every replica."""
import json

from scheduler.state import events
from scheduler.state.machine import ClusterState

MiB = 1024**2


def apply(state, index, op, args, ts=None):
    return state.apply(op, args, {"rid": f"r{index}", "ts": ts or 1_000 + index, "index": index})


def join(state, index, name="h1", host_id="h-1"):
    return apply(state, index, "host.join", {
        "id": host_id, "name": name, "address": "127.0.0.1:1",
        "capacity": {"vcpus": 8, "memory_bytes": 4096 * MiB, "disk_bytes": 0}, "images": ["img"]})


def create(state, index, name, instance_id, host_id="h-1"):
    return apply(state, index, "instance.create", {
        "id": instance_id, "name": name, "project": "default", "host_id": host_id,
        "spec": {"image": "img", "vcpus": 1, "memory_bytes": 64 * MiB, "disk_bytes": 0}})


def history(state):
    join(state, 1)
    create(state, 2, "web", "i-1")
    apply(state, 3, "instance.observe", {"id": "i-1", "host_id": "h-1", "state": "running"})
    apply(state, 4, "instance.observe", {"id": "i-1", "host_id": "h-1", "state": "running"})  # no change
    apply(state, 5, "instance.update_labels", {"id": "i-1", "labels": {"a": "b"}})
    apply(state, 6, "host.mark_down", {"id": "h-1", "ttl_ms": 10}, ts=100_000)
    apply(state, 7, "host.heartbeat", {"id": "h-1", "usage": {}}, ts=100_001)
    apply(state, 8, "event.placement_failed", {"name": "big", "project": "default",
                                               "reason": "0 of 1 hosts fit", "category": "no_host_fits"})
    apply(state, 9, "instance.delete", {"id": "i-1"})
    apply(state, 10, "instance.purge", {"id": "i-1"})
    create(state, 11, "web", "i-1")                       # refused? no: the name is free again
    create(state, 12, "web", "i-2")                       # refused: name taken -> no event
    return state


def test_events_tell_what_happened_in_order():
    state = history(ClusterState())
    kinds = [(e["type"], e["name"], e["previous_state"], e["state"]) for e in state.events]
    assert kinds == [
        ("host.joined", "h1", "", "up"),
        ("instance.created", "web", "", "pending"),
        ("instance.state_changed", "web", "pending", "running"),
        ("instance.updated", "web", "running", "running"),
        ("host.down", "h1", "up", "down"),
        ("instance.state_changed", "web", "running", "lost"),
        ("host.up", "h1", "down", "up"),
        ("placement.failed", "big", "", ""),
        ("instance.state_changed", "web", "lost", "deleting"),
        ("instance.deleted", "web", "deleting", ""),
        ("instance.created", "web", "", "pending"),
    ]
    assert [e["seq"] for e in state.events] == list(range(1, 12))
    assert state.events[0]["revision"] == 1 and state.events[-1]["revision"] == 11


def test_replicas_and_snapshots_agree():
    a, b = history(ClusterState()), history(ClusterState())
    assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    restored = ClusterState.from_dict(a.to_dict())
    apply(restored, 13, "instance.update_labels", {"id": "i-1", "labels": {}})
    apply(a, 13, "instance.update_labels", {"id": "i-1", "labels": {}})
    assert restored.events == a.events and restored.event_seq == a.event_seq == 12


def test_retention_is_bounded_and_since_resumes():
    state = ClusterState()
    join(state, 1)
    for n in range(events.RETENTION + 700):
        apply(state, 2 + n, "event.placement_failed", {"name": f"x{n}", "project": "p", "reason": "r"})
    assert len(state.events) <= events.RETENTION + 500
    oldest = events.oldest_seq(state)
    assert oldest > 1 and state.events[-1]["seq"] == state.event_seq
    tail = events.since(state, state.event_seq - 3)
    assert [e["seq"] for e in tail] == [state.event_seq - 2, state.event_seq - 1, state.event_seq]
    tail[0]["name"] = "changed"                      # copies: the state is not aliased
    assert state.events[-3]["name"] != "changed"


def test_refused_commands_leave_no_event():
    state = ClusterState()
    join(state, 1)
    before = state.event_seq
    assert "error" in apply(state, 2, "instance.observe", {"id": "nope", "host_id": "h-1", "state": "bogus"}) \
        or state.event_seq == before
    assert "error" in apply(state, 3, "event.placement_failed", {"name": 1, "project": "p", "reason": "r"})
    assert state.event_seq == before


def test_restore_only_into_an_empty_cluster():
    source = history(ClusterState())
    backup = source.to_dict()
    target = ClusterState()
    result = apply(target, 1, "cluster.restore", {"state": backup, "revision": 12, "cluster_name": "a"})
    assert result == {"hosts": 1, "instances": 1}
    assert target.hosts == source.hosts and target.instances == source.instances
    assert target.events[-1]["type"] == "cluster.restored"
    again = apply(target, 2, "cluster.restore", {"state": backup})
    assert again["error"]["code"] == "FAILED_PRECONDITION"


def test_membership_records():
    state = ClusterState()
    apply(state, 1, "cluster.member_add", {"name": "sched-4", "api": "10.0.0.4:7101", "raft": "10.0.0.4:7201"})
    clash = apply(state, 2, "cluster.member_add", {"name": "sched-5", "api": "a:1", "raft": "10.0.0.4:7201"})
    assert clash["error"]["code"] == "FAILED_PRECONDITION"
    apply(state, 3, "cluster.member_remove", {"name": "sched-4"})
    assert state.members["sched-4"]["removed"] and "10.0.0.4:7201" not in state.member_raft
    assert [e["type"] for e in state.events] == ["member.added", "member.removed"]
