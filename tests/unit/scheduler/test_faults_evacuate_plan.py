"""Evacuating a host: the plan (what can move, what cannot and why), the moves a
pass decides, and the state machine's checks — all without engines."""
import random

import pytest

from scheduler.leader import evacuation
from scheduler.config import SchedulerConfig
from scheduler.placement.planner import Planner, Settings
from scheduler.state.machine import ClusterState

GiB = 1024**3


class Cluster:
    """A ClusterState driven through apply, with a clock and Raft index of its own."""

    def __init__(self):
        self.state = ClusterState()
        self.index = 0
        self.planner = Planner(Settings.from_config(SchedulerConfig()), rng=random.Random(7))

    def apply(self, op, args):
        self.index += 1
        return self.state.apply(op, args, {"rid": f"r{self.index}", "ts": 1000 + self.index, "index": self.index})

    def host(self, name, vcpus=4, labels=None, memory=8 * GiB):
        result = self.apply("host.join", {"id": f"h-{name}", "name": name, "address": "x:1", "labels": labels or {},
                                          "capacity": {"vcpus": vcpus, "memory_bytes": memory, "disk_bytes": 0},
                                          "drivers": ["compute:docker"], "images": ["img"]})
        assert "host_id" in result, result

    def instance(self, name, host, policy="never", vcpus=1, **spec):
        result = self.apply("instance.create", {
            "id": f"i-{name}", "name": name, "project": "default", "labels": {}, "host_id": f"h-{host}",
            "spec": {"image": "img", "vcpus": vcpus, "memory_bytes": GiB, "disk_bytes": 0,
                     "restart_policy": policy, **spec}, "overcommit": {}})
        assert "instance" in result, result

    def observe(self, name, state):
        inst = self.state.instances[f"i-{name}"]
        result = self.apply("instance.observe", {"id": inst["id"], "host_id": inst["host_id"], "state": state,
                                                 "generation": inst["desired_generation"]})
        assert "error" not in result, result

    def evacuate(self, host, parallel=4):
        h = self.state.hosts[f"h-{host}"]
        return self.apply("host.evacuate", {"id": h["id"], "evacuation_id": "ev-1", "parallel": parallel,
                                            "items": evacuation.plan(self.state, self.planner, h)})

    def record(self, host):
        return self.state.evacuations[f"h-{host}"]

    def run_step(self, host):
        """One Evacuator pass, proposed through apply like the leader does."""
        record = self.record(host)
        decided = evacuation.step(self.state, self.planner, record)
        progress = decided.progress_args(record)
        if progress:
            assert "error" not in self.apply("host.evacuation_progress", progress)
        for move in decided.moves:
            assert "instance" in self.apply("instance.evacuate", move)
        return decided


def statuses(record):
    return {item["name"]: item["status"] for item in record["items"].values()}


def test_the_plan_moves_never_policy_and_stopped_instances_and_blocks_a_local_volume():
    c = Cluster()
    c.host("a")
    c.host("b")
    c.instance("web", "a", policy="always")
    c.instance("batch", "a", policy="never")
    c.instance("idle", "a")
    c.apply("instance.set_desired", {"id": "i-idle", "desired_state": "stopped"})
    c.state.volumes["v-1"] = {"id": "v-1", "name": "data", "project": "default", "host_id": "h-a"}
    c.instance("db", "a")
    # Attached as an attach would (the volume machinery itself is tested with volumes).
    c.state.instances["i-db"]["spec"]["volumes"] = [{"volume": "data", "volume_id": "v-1", "path": "/d"}]

    result = c.evacuate("a")
    record = result["evacuation"]
    assert statuses(record) == {"web": "planned", "batch": "planned", "idle": "planned", "db": "blocked"}
    assert "volume data lives on this host" in record["items"]["i-db"]["reason"]
    assert {i["to_host_id"] for i in record["items"].values() if i["status"] == "planned"} == {"h-b"}
    assert c.state.hosts["h-a"]["schedulable"] == "cordoned"      # evacuating cordons the host


def test_no_capacity_and_a_hard_group_rule_are_reported_per_instance():
    c = Cluster()
    c.host("a", memory=16 * GiB)
    c.host("b", memory=4 * GiB)
    assert "group" in c.apply("group.create", {"id": "pg-1", "name": "db", "project": "default",
                                               "policy": "anti-affinity", "domain": "host", "max_per_domain": 0,
                                               "soft": False})
    c.instance("db1", "a", group="db")
    c.instance("db2", "b", group="db")
    c.instance("big", "a", memory_bytes=4 * GiB)
    c.instance("small", "a", vcpus=1)
    record = c.evacuate("a")["evacuation"]
    items = {i["name"]: i for i in record["items"].values()}
    assert items["db1"]["status"] == "blocked" and "anti-affinity 'db'" in items["db1"]["reason"]
    assert items["big"]["status"] == "blocked" and "short of memory" in items["big"]["reason"]
    assert items["small"]["status"] == "planned"


def test_moves_go_a_few_at_a_time_and_the_evacuation_ends_with_a_report():
    c = Cluster()
    c.host("a", vcpus=16)
    c.host("b", vcpus=16)
    for n in range(5):
        c.instance(f"w{n}", "a")
    c.evacuate("a", parallel=2)
    decided = c.run_step("a")
    assert [m["id"] for m in decided.moves] == ["i-w0", "i-w1"]
    assert statuses(c.record("a"))["w0"] == "moving"
    assert c.run_step("a").moves == []          # two in flight: no third yet
    for name in ("w0", "w1"):
        c.observe(name, "running")              # the new host's agent ensured them
    assert [m["id"] for m in c.run_step("a").moves] == ["i-w2", "i-w3"]
    assert statuses(c.record("a"))["w0"] == "moved"
    for name in ("w2", "w3"):
        c.observe(name, "running")
    c.run_step("a")
    c.observe("w4", "running")
    decided = c.run_step("a")
    assert decided.finish == "done"
    record = c.record("a")
    assert record["state"] == "done" and set(statuses(record).values()) == {"moved"}
    assert {i["host_id"] for i in c.state.instances.values()} == {"h-b"}
    assert c.state.hosts["h-a"]["allocated"]["vcpus"] == 0 and c.state.hosts["h-b"]["allocated"]["vcpus"] == 5
    assert evacuation.summary(record["items"])[1] == "5 moved"


def test_a_stopped_instance_is_rehomed_without_starting():
    c = Cluster()
    c.host("a")
    c.host("b")
    c.instance("idle", "a")
    c.apply("instance.set_desired", {"id": "i-idle", "desired_state": "stopped"})
    c.evacuate("a")
    c.run_step("a")
    moved = c.state.instances["i-idle"]
    assert moved["host_id"] == "h-b" and moved["desired_state"] == "stopped"
    c.observe("idle", "stopped")
    c.run_step("a")
    assert statuses(c.record("a")) == {"idle": "moved"} and c.record("a")["state"] == "done"


def test_deleted_meanwhile_and_uncordoned_midway():
    c = Cluster()
    c.host("a")
    c.host("b")
    c.instance("x", "a")
    c.instance("y", "a")
    c.evacuate("a", parallel=1)
    c.apply("instance.delete", {"id": "i-y"})
    c.apply("instance.purge", {"id": "i-y"})
    c.run_step("a")
    assert statuses(c.record("a")) == {"x": "moving", "y": "gone"}
    c.apply("host.set_schedulable", {"id": "h-a", "mode": "active"})
    assert c.run_step("a").finish == "cancelled"
    assert c.record("a")["state"] == "cancelled"


def test_refused_without_anywhere_to_go_and_nothing_changes():
    c = Cluster()
    c.host("a")
    c.instance("x", "a")
    before = c.state.to_dict()
    result = c.evacuate("a")
    assert result["error"]["code"] == "FAILED_PRECONDITION"
    assert "only host up" in result["error"]["message"]
    assert c.state.to_dict() == before
    c.host("b")
    c.apply("host.set_schedulable", {"id": "h-b", "mode": "cordoned"})
    before = c.state.to_dict()
    result = c.evacuate("a")
    assert result["error"]["code"] == "FAILED_PRECONDITION" and "cordoned" in result["error"]["message"]
    assert c.state.to_dict() == before


def test_apply_checks_moves_and_a_second_evacuate_returns_the_running_one():
    c = Cluster()
    c.host("a")
    c.host("b")
    c.instance("x", "a")
    first = c.evacuate("a", parallel=1)["evacuation"]
    again = c.apply("host.evacuate", {"id": "h-a", "evacuation_id": "ev-2", "parallel": 1, "items": {}})
    assert again["already"] and again["evacuation"]["id"] == first["id"]
    stale = {"id": "i-x", "from_host_id": "h-a", "to_host_id": "h-b", "evacuation_id": "ev-old", "overcommit": {}}
    assert c.apply("instance.evacuate", stale)["error"]["code"] == "FAILED_PRECONDITION"
    move = dict(stale, evacuation_id="ev-1")
    assert "instance" in c.apply("instance.evacuate", move)
    assert c.apply("instance.evacuate", move)["error"]["code"] == "FAILED_PRECONDITION"   # not planned any more
    done = c.apply("host.evacuation_progress", {"host_id": "h-a", "evacuation_id": "ev-1", "items": {},
                                                "finish": "done"})
    assert done["error"]["code"] == "FAILED_PRECONDITION"    # x is still moving
    assert c.apply("host.evacuate", {"id": "h-a", "evacuation_id": "ev-3", "parallel": 0,
                                     "items": {}})["already"]


def test_results_do_not_alias_the_state_and_survive_a_snapshot():
    c = Cluster()
    c.host("a")
    c.host("b")
    c.instance("x", "a")
    result = c.evacuate("a")
    result["evacuation"]["items"]["i-x"]["status"] = "mangled"
    assert c.record("a")["items"]["i-x"]["status"] == "planned"
    copy = ClusterState.from_dict(c.state.to_dict())
    assert copy.evacuations == c.state.evacuations


@pytest.mark.parametrize("parallel", [0, 65])
def test_apply_refuses_a_bad_parallel(parallel):
    c = Cluster()
    c.host("a")
    c.host("b")
    result = c.apply("host.evacuate", {"id": "h-a", "evacuation_id": "e", "parallel": parallel, "items": {}})
    assert result["error"]["code"] == "INVALID_ARGUMENT" and "parallel" in result["error"]["message"]
