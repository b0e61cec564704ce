"""instance.reschedule: only a lost instance on a down host moves, with its allocation."""
from scheduler.state.machine import ClusterState

GiB = 1024**3


def ctx(index, ts):
    return {"rid": f"r{index}", "ts": ts, "index": index}


def cluster_with_lost_instance(policy="always"):
    state = ClusterState()
    for n, name in enumerate(("a", "b")):
        state.apply("host.join", {"id": f"h-{name}", "name": name, "address": "x:1",
                                  "capacity": {"vcpus": 4, "memory_bytes": 4 * GiB, "disk_bytes": 0},
                                  "drivers": ["compute:docker"], "images": ["img"]}, ctx(n + 1, 1000))
    result = state.apply("instance.create", {
        "id": "i-1", "name": "web", "project": "default", "labels": {},
        "spec": {"image": "img", "vcpus": 2, "memory_bytes": GiB, "disk_bytes": 0, "restart_policy": policy},
        "host_id": "h-a", "overcommit": {}}, ctx(3, 1000))
    assert "instance" in result, result
    state.apply("host.heartbeat", {"id": "h-b", "usage": {}}, ctx(4, 9000))
    state.apply("host.mark_down", {"id": "h-a", "ttl_ms": 5000}, ctx(5, 9000))
    return state


def move(state, index):
    return state.apply("instance.reschedule", {"id": "i-1", "from_host_id": "h-a", "host_id": "h-b",
                                               "overcommit": {}}, ctx(index, 9100 + index))


def test_a_lost_instance_moves_with_its_allocation_and_keeps_its_id():
    state = cluster_with_lost_instance()
    assert state.instances["i-1"]["state"] == "lost"
    result = move(state, 6)
    assert result["instance"]["host_id"] == "h-b"
    moved = state.instances["i-1"]
    assert moved["state"] == "pending" and moved["desired_generation"] > moved["ensured_generation"]
    assert "rescheduled from a" in moved["reason"]
    assert state.hosts["h-a"]["allocated"]["vcpus"] == 0
    assert state.hosts["h-b"]["allocated"]["vcpus"] == 2


def test_no_move_once_the_host_is_back_or_the_instance_moved_already():
    state = cluster_with_lost_instance()
    state.apply("host.heartbeat", {"id": "h-a", "usage": {}}, ctx(6, 9100))
    assert move(state, 7)["error"]["code"] == "FAILED_PRECONDITION"
    state = cluster_with_lost_instance()
    assert "instance" in move(state, 6)
    assert move(state, 7)["error"]["code"] == "FAILED_PRECONDITION"


def test_the_new_host_must_have_room():
    state = cluster_with_lost_instance()
    state.hosts["h-b"]["capacity"]["vcpus"] = 1
    before = state.to_dict()
    assert move(state, 6)["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert state.to_dict() == before


def test_a_volume_backed_instance_waits_for_the_host_of_its_volume():
    from common.errors import ResourceExhausted
    from scheduler.config import SchedulerConfig
    from scheduler.placement.planner import Planner, Settings
    import pytest

    state = cluster_with_lost_instance()
    state.volumes["v-1"] = {"id": "v-1", "name": "data", "project": "default", "host_id": "h-a"}
    spec = dict(state.instances["i-1"]["spec"], volumes=[{"volume": "data", "volume_id": "v-1", "path": "/d"}])
    planner = Planner(Settings.from_config(SchedulerConfig()))
    request = planner.request(state, "default", spec)
    assert request.volume_host == "h-a"
    with pytest.raises(ResourceExhausted) as err:
        planner.place(state, request)     # h-a is down, and h-b does not hold the volume
    assert "0 of 2 hosts fit" in str(err.value)
    state.apply("host.heartbeat", {"id": "h-a", "usage": {}}, ctx(9, 9500))
    assert planner.place(state, planner.request(state, "default", spec)).host_id == "h-a"
