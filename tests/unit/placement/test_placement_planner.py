"""The planner: sampled placement over the state machine's indexes, batches, explanations."""
import random

import pytest
from placement_fixtures import GiB, IMAGE, create, group, join, spec

from common.errors import InvalidArgument, NotFound, ResourceExhausted
from scheduler.placement.planner import Planner, Settings
from scheduler.state.machine import ClusterState


def planner(limit=6, **kw):
    return Planner(Settings(overcommit={"vcpus": 1.0}, limit=limit, **kw), rng=random.Random(7))


def fleet(n=20, zones=("a", "b")):
    state = ClusterState()
    for i in range(n):
        join(state, f"h{i:02d}", zone=zones[i % len(zones)], rack=f"r{i % 4}")
    return state


def test_constraints_narrow_candidates_through_the_label_index():
    state, p = fleet(), planner()
    request = p.request(state, "default", spec(constraints=["zone=a"]))
    assert all(state.hosts[h]["labels"]["zone"] == "a" for h in p.candidates(state, request))
    for _ in range(20):
        assert state.hosts[p.place(state, request).host_id]["labels"]["zone"] == "a"


def test_unknown_label_keys_and_groups_are_refused():
    state, p = fleet(), planner()
    with pytest.raises(InvalidArgument, match="no host has a label 'gpu'"):
        p.request(state, "default", spec(constraints=["gpu=a100"]))
    p.request(state, "default", spec(constraints=["gpu!=none"]))   # absent labels satisfy !=
    with pytest.raises(NotFound, match="placement group 'db'"):
        p.request(state, "default", spec(group="db"))
    with pytest.raises(InvalidArgument):
        p.request(state, "default", spec(strategy="random"))


def test_a_batch_sees_its_own_decisions():
    state, p = fleet(4), planner()
    request = p.request(state, "default", spec(vcpus=4, memory=GiB))
    decided = p.place_many(state, [request] * 5)
    assert sorted(d.host_id for d in decided[:4]) == sorted(state.hosts)
    assert isinstance(decided[4], ResourceExhausted)
    assert "4 short of vcpus" in str(decided[4])


def test_hard_anti_affinity_in_a_batch_uses_every_host_once():
    state, p = fleet(10), planner()
    group(state, "db", "anti-affinity")
    request = p.request(state, "default", spec(group="db"))
    decided = p.place_many(state, [request] * 11)
    assert len({d.host_id for d in decided[:10]}) == 10
    assert str(decided[10]) == "0 of 10 hosts fit: 10 violate anti-affinity 'db'"


def test_zone_spread_in_a_batch_alternates_zones():
    state, p = fleet(12, zones=("a", "b", "c")), planner()
    group(state, "db", "spread", domain="zone")
    request = p.request(state, "default", spec(group="db"))
    zones = [state.hosts[d.host_id]["labels"]["zone"] for d in p.place_many(state, [request] * 9)]
    assert sorted(zones) == ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    assert all(len(set(zones[i:i + 3])) == 3 for i in range(0, 9, 3))


def test_affinity_follows_the_first_member():
    state, p = fleet(12), planner()
    group(state, "db", "affinity", domain="rack")
    create(state, "first", "h-h05", group="db")
    request = p.request(state, "default", spec(group="db"))
    racks = {state.hosts[d.host_id]["labels"]["rack"] for d in p.place_many(state, [request] * 6)}
    assert racks == {state.hosts["h-h05"]["labels"]["rack"]}


def test_binpack_fills_before_spreading():
    state, p = fleet(3), planner(limit=10)
    create(state, "x", "h-h01", vcpus=2)
    request = p.request(state, "default", spec(vcpus=1, strategy="binpack"))
    assert p.place(state, request).host_id == "h-h01"
    spread = p.request(state, "default", spec(vcpus=1))
    assert p.place(state, spread).host_id != "h-h01"


def test_refusals_judge_every_host_and_missing_images_are_not_found():
    state, p = fleet(6), planner()
    state.apply("host.set_schedulable", {"id": "h-h00", "mode": "cordoned"}, {"rid": "x", "ts": 1, "index": 1})
    with pytest.raises(ResourceExhausted) as err:
        p.place(state, p.request(state, "default", spec(memory=9 * GiB)))
    assert str(err.value) == "0 of 6 hosts fit: 1 cordoned or draining, 5 short of memory"
    with pytest.raises(NotFound, match="not found on any host"):
        p.place(state, p.request(state, "default", dict(spec(), image="nope:1")))


def test_explain_ranks_candidates_with_each_weighers_part():
    state, p = fleet(5), planner()
    create(state, "x", "h-h00", memory=6 * GiB)
    found = p.explain(state, p.request(state, "default", spec()), top=3)
    assert found["placed"] and found["feasible"] == 5 and found["total"] == 5
    assert len(found["candidates"]) == 3
    scores = [s for s, *_ in found["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert "h-h00" not in [h for _, h, *_ in found["candidates"]]
    assert set(found["candidates"][0][3]) == {"memory", "vcpus", "group"}
    assert found["summary"] == f"placed on {found['host_name']} (5 of 5 hosts fit)"


def test_the_image_must_be_on_the_host():
    state, p = fleet(2), planner()
    assert p.request(state, "default", spec()).image == IMAGE
