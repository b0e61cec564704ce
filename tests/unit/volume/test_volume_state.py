"""Volumes and snapshots in the state machine: accounting, attachment rules, refusals that change nothing."""
import json

import pytest

from scheduler.state.machine import ClusterState

GiB = 1024**3


def ctx(index):
    return {"rid": f"r{index}", "ts": 1_000_000 + index, "index": index}


class World:
    """A state with hosts a and b (pools of 10 GiB, overcommit 2) and an index counter."""

    def __init__(self):
        self.state = ClusterState()
        self.index = 0
        for name in ("a", "b"):
            self.apply("host.join", {"id": f"h-{name}", "name": name, "address": f"{name}:1",
                                     "capacity": {"vcpus": 8, "memory_bytes": 8 * GiB, "disk_bytes": 0},
                                     "drivers": ["compute:docker"], "images": ["img"]})
            self.apply("volume.pool", {"host_id": f"h-{name}", "driver": "lvm", "total_bytes": 10 * GiB,
                                       "used_bytes": 0})

    def apply(self, op, args):
        self.index += 1
        return self.state.apply(op, json.loads(json.dumps(args)), ctx(self.index))

    def volume(self, name, size=GiB, host="a", **kw):
        return self.apply("volume.create", {"id": f"v-{name.encode().hex()}", "name": name, "project": "default",
                                            "size_bytes": size, "host_id": f"h-{host}", "overcommit": 2.0, **kw})

    def made(self, name, size=GiB):
        """The volume as its host reports it once made."""
        vid = f"v-{name.encode().hex()}"
        self.apply("volume.observe", {"id": vid, "host_id": self.state.volumes[vid]["host_id"],
                                      "state": "available", "size_bytes": size, "used_bytes": 0,
                                      "revert_generation": 0})
        return vid

    def instance(self, name, host="a", volumes=()):
        return self.apply("instance.create", {
            "id": f"i-{name}", "name": name, "project": "default", "labels": {},
            "spec": {"image": "img", "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0,
                     "volumes": [{"volume": v, "volume_id": vid, "path": p} for v, vid, p in volumes]},
            "host_id": f"h-{host}", "overcommit": {}})

    def dump(self):
        return json.dumps(self.state.to_dict(), sort_keys=True)


def code(result):
    return result.get("error", {}).get("code")


def test_thin_pool_accounting_allows_overcommit_and_refuses_beyond_it():
    w = World()
    assert w.volume("big", 15 * GiB)["volume"]["state"] == "creating"   # 15 of 20 (10 x 2)
    before = w.dump()
    assert code(w.volume("more", 6 * GiB)) == "RESOURCE_EXHAUSTED"
    assert w.dump() == before
    assert w.volume("fits", 5 * GiB)["volume"]["size_bytes"] == 5 * GiB
    assert code(w.volume("nopool", GiB, host="c")) == "FAILED_PRECONDITION"


def test_names_are_unique_per_project_and_sizes_positive():
    w = World()
    w.volume("data1")
    assert code(w.volume("data1")) == "ALREADY_EXISTS"
    assert code(w.volume("zero", 0)) == "INVALID_ARGUMENT"
    assert code(w.volume("neg", -5)) == "INVALID_ARGUMENT"


def test_snapshots_count_as_provisioned_and_clones_stay_on_their_host():
    w = World()
    w.volume("data1", 6 * GiB)
    vid = w.made("data1", 6 * GiB)
    assert code(w.apply("snapshot.create", {"id": "s-01", "name": "s1", "project": "default",
                                            "volume_id": vid, "overcommit": 2.0})) is None
    assert w.state.snapshots["s-01"]["size_bytes"] == 6 * GiB
    w.apply("snapshot.observe", {"id": "s-01", "host_id": "h-a", "state": "available"})
    assert code(w.volume("clone", 1, host="b", source_snapshot_id="s-01")) == "INVALID_ARGUMENT"
    clone = w.volume("clone", 1, source_snapshot_id="s-01")["volume"]
    assert clone["size_bytes"] == 6 * GiB                  # never smaller than its snapshot
    assert code(w.volume("toomuch", 1, source_snapshot_id="s-01")) == "RESOURCE_EXHAUSTED"


def test_attach_rules_and_placement_of_instance_with_volumes():
    w = World()
    w.volume("data1")
    vid = w.made("data1")
    w.volume("data2", host="b")
    vid2 = w.made("data2")
    w.instance("web1", "a")
    w.instance("web2", "b")
    assert code(w.apply("volume.attach", {"id": vid, "instance_id": "i-web2", "path": "/data"})) \
        == "FAILED_PRECONDITION"                           # instance on another host
    assert code(w.apply("volume.attach", {"id": vid, "instance_id": "i-web1", "path": "data"})) \
        == "INVALID_ARGUMENT"
    generation = w.state.instances["i-web1"]["desired_generation"]
    assert code(w.apply("volume.attach", {"id": vid, "instance_id": "i-web1", "path": "/data"})) is None
    web1 = w.state.instances["i-web1"]
    assert web1["desired_generation"] == generation + 1
    assert web1["spec"]["volumes"] == [{"volume": "data1", "volume_id": vid, "path": "/data"}]
    w.instance("web3", "a")
    before = w.dump()
    assert code(w.apply("volume.attach", {"id": vid, "instance_id": "i-web3", "path": "/d"})) \
        == "FAILED_PRECONDITION"                           # attached elsewhere
    assert code(w.apply("volume.delete", {"id": vid})) == "FAILED_PRECONDITION"
    assert code(w.instance("web4", "a", [("data1", vid, "/data")])) == "FAILED_PRECONDITION"
    assert w.dump() == before
    assert code(w.instance("web5", "b", [("data2", vid2, "/data")])) is None
    assert w.state.volumes[vid2]["attached_to"] == "i-web5"
    assert code(w.apply("volume.detach", {"id": vid})) is None
    assert w.state.instances["i-web1"]["spec"]["volumes"] == []
    assert code(w.apply("volume.detach", {"id": vid})) == "FAILED_PRECONDITION"


def test_a_purged_instance_releases_its_volume():
    w = World()
    w.volume("data1")
    vid = w.made("data1")
    w.instance("web1", "a", [("data1", vid, "/data")])
    w.apply("instance.purge", {"id": "i-web1"})
    assert code(w.apply("volume.attach", {"id": vid, "instance_id": "i-web1", "path": "/d"})) == "NOT_FOUND"
    assert code(w.apply("volume.delete", {"id": vid})) is None


def test_resize_grows_only_and_revert_needs_a_detached_volume_and_its_own_snapshot():
    w = World()
    w.volume("data1")
    vid = w.made("data1")
    w.volume("other")
    other = w.made("other")
    assert code(w.apply("volume.resize", {"id": vid, "size_bytes": GiB // 2, "overcommit": 2.0})) \
        == "INVALID_ARGUMENT"
    assert code(w.apply("volume.resize", {"id": vid, "size_bytes": 100 * GiB, "overcommit": 2.0})) \
        == "RESOURCE_EXHAUSTED"
    assert w.apply("volume.resize", {"id": vid, "size_bytes": 2 * GiB, "overcommit": 2.0})["volume"][
        "size_bytes"] == 2 * GiB
    w.apply("snapshot.create", {"id": "s-01", "name": "s1", "project": "default", "volume_id": vid,
                                "overcommit": 2.0})
    w.apply("snapshot.observe", {"id": "s-01", "host_id": "h-a", "state": "available"})
    assert code(w.apply("volume.revert", {"id": other, "snapshot_id": "s-01"})) == "INVALID_ARGUMENT"
    w.instance("web1", "a", [("data1", vid, "/data")])
    assert code(w.apply("volume.revert", {"id": vid, "snapshot_id": "s-01"})) == "FAILED_PRECONDITION"
    w.apply("volume.detach", {"id": vid})
    assert w.apply("volume.revert", {"id": vid, "snapshot_id": "s-01"})["volume"]["revert_generation"] == 1


def test_delete_with_snapshots_needs_cascade():
    w = World()
    w.volume("data1")
    vid = w.made("data1")
    w.apply("snapshot.create", {"id": "s-01", "name": "s1", "project": "default", "volume_id": vid,
                                "overcommit": 2.0})
    before = w.dump()
    assert code(w.apply("volume.delete", {"id": vid})) == "FAILED_PRECONDITION"
    assert w.dump() == before
    assert code(w.apply("volume.delete", {"id": vid, "cascade": True})) is None
    assert w.state.snapshots["s-01"]["state"] == "deleting"
    w.apply("snapshot.purge", {"id": "s-01"})
    w.apply("volume.purge", {"id": vid})
    assert not w.state.volumes and not w.state.snapshots and not w.state.volume_names


def test_results_do_not_alias_the_state_and_replicas_agree():
    w, twin = World(), World()
    result = w.volume("data1")
    result["volume"]["labels"]["x"] = "y"
    assert w.state.volumes[result["volume"]["id"]]["labels"] == {}
    twin.volume("data1")
    assert ClusterState.from_dict(w.state.to_dict()).to_dict() == twin.state.to_dict()


@pytest.mark.parametrize("path", ["", "data", "/", "/a/../b", "/a//b"])
def test_bad_attach_paths_are_refused(path):
    w = World()
    w.volume("data1")
    vid = w.made("data1")
    w.instance("web1", "a")
    assert code(w.apply("volume.attach", {"id": vid, "instance_id": "i-web1", "path": path})) == "INVALID_ARGUMENT"
