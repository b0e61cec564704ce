"""The state machine: deterministic apply, invariants, errors that change nothing."""
import json
import random

from scheduler.state.machine import ClusterState

GiB = 1024**3


def ctx(index, ts=1_000_000):
    return {"rid": f"r{index}", "ts": ts + index, "index": index}


def join(state, name, index, vcpus=4, memory=8 * GiB):
    return state.apply("host.join", {"id": f"h-{name}", "name": name, "address": f"{name}:7300",
                                     "capacity": {"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 0},
                                     "drivers": ["compute:docker"], "images": ["img"]}, ctx(index))


def create(state, name, host, index, vcpus=1, memory=GiB, project="default"):
    return state.apply("instance.create", {
        "id": f"i-{project}-{name}", "name": name, "project": project, "labels": {},
        "spec": {"image": "img", "vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 0},
        "host_id": f"h-{host}", "overcommit": {}}, ctx(index))


def dump(state):
    return json.dumps(state.to_dict(), sort_keys=True).encode()


def random_commands(seed, n=300):
    rng = random.Random(seed)
    commands = []
    for i in range(n):
        kind = rng.choice(["join", "create", "create", "stop", "delete", "observe", "heartbeat", "down"])
        host = f"host{rng.randrange(4)}"
        inst = f"i-default-vm{rng.randrange(40)}"
        if kind == "join":
            commands.append(("host.join", {"id": f"h-{host}", "name": host, "address": "a:1",
                                           "capacity": {"vcpus": 8, "memory_bytes": 16 * GiB, "disk_bytes": 0},
                                           "drivers": ["compute:docker"]}))
        elif kind == "create":
            commands.append(("instance.create", {
                "id": inst, "name": inst[10:], "project": "default", "labels": {},
                "spec": {"image": "img", "vcpus": rng.randint(1, 3), "memory_bytes": GiB, "disk_bytes": 0},
                "host_id": f"h-{host}", "overcommit": {}}))
        elif kind == "stop":
            commands.append(("instance.set_desired", {"id": inst, "desired_state": "stopped"}))
        elif kind == "delete":
            commands.append(("instance.delete", {"id": inst}))
        elif kind == "observe":
            commands.append(("instance.observe", {"id": inst, "host_id": f"h-{host}", "state": "running",
                                                  "runtime_id": "c1", "generation": 1}))
        elif kind == "heartbeat":
            commands.append(("host.heartbeat", {"id": f"h-{host}", "usage": {"cpu_percent": 1.0}}))
        else:
            commands.append(("host.mark_down", {"id": f"h-{host}", "ttl_ms": 5}))
    return commands


def test_apply_is_deterministic_byte_for_byte():
    for seed in range(5):
        replicas = [ClusterState() for _ in range(3)]
        results = [[] for _ in replicas]
        for index, (op, args) in enumerate(random_commands(seed), start=1):
            for replica, out in zip(replicas, results):
                out.append(replica.apply(op, json.loads(json.dumps(args)), ctx(index)))
        assert dump(replicas[0]) == dump(replicas[1]) == dump(replicas[2])
        assert json.dumps(results[0], sort_keys=True) == json.dumps(results[2], sort_keys=True)
        restored = ClusterState.from_dict(json.loads(dump(replicas[0])))
        assert dump(restored) == dump(replicas[0])


def test_capacity_is_checked_again_in_apply_and_nothing_changes_on_refusal():
    state = ClusterState()
    join(state, "a", 1, vcpus=2, memory=2 * GiB)
    assert "instance" in create(state, "one", "a", 2, vcpus=2, memory=GiB)
    before = dump(state)
    result = create(state, "two", "a", 3, vcpus=1, memory=GiB)
    assert result["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert "vcpus" in result["error"]["message"]
    assert dump(state) == before


def test_names_are_unique_per_project_only():
    state = ClusterState()
    join(state, "a", 1)
    assert "instance" in create(state, "web", "a", 2)
    assert create(state, "web", "a", 3)["error"]["code"] == "ALREADY_EXISTS"
    assert "instance" in create(state, "web", "a", 4, project="other")


def test_delete_then_purge_frees_allocation():
    state = ClusterState()
    join(state, "a", 1)
    create(state, "web", "a", 2, vcpus=2)
    state.apply("instance.observe", {"id": "i-default-web", "host_id": "h-a", "state": "running",
                                     "runtime_id": "c", "generation": 1}, ctx(3))
    assert state.hosts["h-a"]["allocated"]["vcpus"] == 2
    assert state.apply("instance.delete", {"id": "i-default-web"}, ctx(4))["purged"] is False
    assert state.instances["i-default-web"]["state"] == "deleting"
    state.apply("instance.purge", {"id": "i-default-web"}, ctx(5))
    assert state.hosts["h-a"]["allocated"]["vcpus"] == 0
    assert not state.instances and not state.instance_names


def test_observe_from_another_host_is_ignored():
    state = ClusterState()
    join(state, "a", 1)
    join(state, "b", 2)
    create(state, "web", "a", 3)
    result = state.apply("instance.observe", {"id": "i-default-web", "host_id": "h-b",
                                              "state": "running"}, ctx(4))
    assert result == {"ignored": True}
    assert state.instances["i-default-web"]["state"] == "pending"


def test_mark_down_respects_the_ttl_and_loses_instances():
    state = ClusterState()
    join(state, "a", 1)
    create(state, "web", "a", 2)
    late = {"rid": "x", "ts": state.hosts["h-a"]["last_heartbeat_ms"] + 500, "index": 3}
    assert state.apply("host.mark_down", {"id": "h-a", "ttl_ms": 1000}, late)["changed"] is False
    later = dict(late, ts=late["ts"] + 1000, index=4)
    assert state.apply("host.mark_down", {"id": "h-a", "ttl_ms": 1000}, later)["changed"] is True
    assert state.hosts["h-a"]["state"] == "down"
    assert state.instances["i-default-web"]["state"] == "lost"
    state.apply("host.heartbeat", {"id": "h-a", "usage": {}}, dict(later, index=5))
    assert state.hosts["h-a"]["state"] == "up"


def test_unknown_and_malformed_commands_answer_errors():
    state = ClusterState()
    assert state.apply("nope", {}, ctx(1))["error"]["code"] == "INVALID_ARGUMENT"
    assert state.apply("instance.create", {"name": "x"}, ctx(2))["error"]["code"] == "INVALID_ARGUMENT"
    assert dump(state) == dump(ClusterState())
