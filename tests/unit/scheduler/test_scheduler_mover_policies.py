"""The one mover's policies (scheduler/leader/mover.py): which instances a drain, host loss
and an evacuation move, and what keeps one in place."""
from scheduler.leader.mover import DRAIN, EVACUATION, HOST_LOSS, Blocked, Mover
from scheduler.placement.planner import Overlay, Planner, Settings
from scheduler.state.machine import ClusterState

MiB = 1024**2


def instance(state="running", desired="running", restart="always", host="h-1", volumes=()):
    return {"id": "i-1", "name": "web", "project": "default", "state": state, "desired_state": desired,
            "host_id": host, "spec": {"restart_policy": restart, "vcpus": 1, "memory_bytes": MiB,
                                      "disk_bytes": 0, "volumes": list(volumes)}}


def test_each_policy_moves_what_it_is_for():
    up, down = {"state": "up"}, {"state": "down"}
    assert DRAIN.moves(instance(), up) and not DRAIN.moves(instance(restart="never"), up)
    assert not DRAIN.moves(instance(desired="stopped"), up) and not DRAIN.moves(instance(state="deleting"), up)
    assert HOST_LOSS.moves(instance(state="lost"), down) and HOST_LOSS.moves(instance(state="lost"), None)
    assert not HOST_LOSS.moves(instance(state="lost"), up)              # its host is back
    assert not HOST_LOSS.moves(instance(state="lost", restart="never"), down)
    assert EVACUATION.moves(instance(restart="never", desired="stopped"), up)
    assert not EVACUATION.moves(instance(state="deleting"), up)


def test_an_evacuation_keeps_an_instance_beside_its_volume():
    state = ClusterState()
    state.volumes["v-1"] = {"id": "v-1", "name": "data", "host_id": "h-1"}
    held = instance(volumes=[{"volume": "data", "volume_id": "v-1", "path": "/data"}])
    try:
        Mover(Planner(Settings())).decide(EVACUATION, state, held, "h-1", Overlay())
        raise AssertionError("a local volume must block the move")
    except Blocked as err:
        assert "volume data lives on this host" in str(err)
    assert DRAIN.blocked(state, held, "h-1") == ""
