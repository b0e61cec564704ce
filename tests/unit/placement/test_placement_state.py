"""The state machine re-checks placements, and keeps groups, host modes and moves right."""
from placement_fixtures import GiB, apply, create, group, join, ok

from scheduler.state.machine import ClusterState


def error_code(result):
    return result.get("error", {}).get("code")


def cluster(n=3, **labels_of):
    state = ClusterState()
    for i in range(n):
        join(state, f"h{i}", **labels_of.get(f"h{i}", {}))
    return state


def test_apply_refuses_an_overfull_host_and_the_reserved_share():
    state = cluster(1)
    assert error_code(create(state, "a", "h-h0", memory=9 * GiB)) == "RESOURCE_EXHAUSTED"
    result = apply(state, "instance.create", {
        "id": "i-b", "name": "b", "project": "default", "labels": {}, "host_id": "h-h0",
        "spec": {"image": "x", "vcpus": 1, "memory_bytes": 7 * GiB, "disk_bytes": 0},
        "overcommit": {}, "reserved": {"memory_bytes": 2 * GiB}})
    assert error_code(result) == "RESOURCE_EXHAUSTED"
    assert state.instances == {} and state.hosts["h-h0"]["allocated"]["memory_bytes"] == 0


def test_apply_refuses_constraint_mismatch():
    state = cluster(2, h0={"zone": "a"}, h1={"zone": "b"})
    assert error_code(create(state, "a", "h-h1", constraints=["zone=a"])) == "FAILED_PRECONDITION"
    assert "error" not in create(state, "a", "h-h0", constraints=["zone=a"])


def test_hard_anti_affinity_is_rechecked_in_apply():
    state = cluster(2)
    group(state, "db", "anti-affinity")
    assert "error" not in create(state, "a", "h-h0", group="db")
    result = create(state, "b", "h-h0", group="db")
    assert error_code(result) == "FAILED_PRECONDITION" and "anti-affinity 'db'" in result["error"]["message"]
    assert "error" not in create(state, "b", "h-h1", group="db")
    assert state.placement.group_counts["pg-db"] == {"h-h0": 1, "h-h1": 1}


def test_soft_groups_are_not_enforced_in_apply():
    state = cluster(1)
    group(state, "web", "anti-affinity", soft=True)
    assert "error" not in create(state, "a", "h-h0", group="web")
    assert "error" not in create(state, "b", "h-h0", group="web")


def test_zone_spread_refuses_a_zone_ahead_of_the_others():
    state = cluster(4, h0={"zone": "a"}, h1={"zone": "a"}, h2={"zone": "b"}, h3={"zone": "b"})
    group(state, "db", "spread", domain="zone")
    assert "error" not in create(state, "a", "h-h0", group="db")
    assert error_code(create(state, "b", "h-h1", group="db")) == "FAILED_PRECONDITION"
    assert "error" not in create(state, "b", "h-h2", group="db")
    assert "error" not in create(state, "c", "h-h1", group="db")


def test_an_unknown_group_is_refused_in_apply():
    state = cluster(1)
    assert error_code(create(state, "a", "h-h0", group="nope")) == "FAILED_PRECONDITION"


def test_group_names_are_unique_and_fields_checked():
    state = cluster(1)
    group(state, "db", "anti-affinity")
    again = apply(state, "group.create", {"id": "pg-x", "name": "db", "project": "default",
                                          "policy": "spread", "domain": "host", "max_per_domain": 0, "soft": False})
    assert error_code(again) == "ALREADY_EXISTS"
    bad = apply(state, "group.create", {"id": "pg-y", "name": "y", "project": "default",
                                        "policy": "friends", "domain": "host", "max_per_domain": 0, "soft": False})
    assert error_code(bad) == "INVALID_ARGUMENT"
    assert list(state.groups) == ["pg-db"]


def test_a_policy_change_that_members_would_break_is_refused():
    state = cluster(2)
    group(state, "db", "anti-affinity", max_per_domain=2)
    create(state, "a", "h-h0", group="db")
    create(state, "b", "h-h0", group="db")
    result = apply(state, "group.update", {"id": "pg-db", "max_per_domain": 1})
    assert error_code(result) == "FAILED_PRECONDITION" and "would break" in result["error"]["message"]
    assert state.groups["pg-db"]["max_per_domain"] == 2
    assert "error" not in apply(state, "group.update", {"id": "pg-db", "policy": "affinity", "max_per_domain": 0})


def test_a_group_with_members_cannot_be_deleted():
    state = cluster(1)
    group(state, "db", "anti-affinity")
    create(state, "a", "h-h0", group="db")
    assert error_code(apply(state, "group.delete", {"id": "pg-db"})) == "FAILED_PRECONDITION"
    ok(state, "instance.purge", {"id": "i-a"})
    assert state.placement.group_counts["pg-db"] == {}
    ok(state, "group.delete", {"id": "pg-db"})
    assert state.groups == {} and state.group_names == {}


def test_cordoned_hosts_take_no_new_instances():
    state = cluster(1)
    ok(state, "host.set_schedulable", {"id": "h-h0", "mode": "cordoned"})
    assert error_code(create(state, "a", "h-h0")) == "FAILED_PRECONDITION"
    ok(state, "host.set_schedulable", {"id": "h-h0", "mode": "active"})
    assert "error" not in create(state, "a", "h-h0")
    assert error_code(apply(state, "host.set_schedulable", {"id": "h-h0", "mode": "off"})) == "INVALID_ARGUMENT"


def test_draining_the_last_host_of_a_zone_a_hard_spread_group_needs_is_refused():
    state = cluster(3, h0={"zone": "a"}, h1={"zone": "b"}, h2={"zone": "b"})
    group(state, "db", "spread", domain="zone")
    create(state, "a", "h-h0", group="db")
    create(state, "b", "h-h1", group="db")
    result = apply(state, "host.set_schedulable", {"id": "h-h0", "mode": "draining"})
    assert error_code(result) == "FAILED_PRECONDITION"
    assert "last schedulable host of zone 'a'" in result["error"]["message"]
    assert state.hosts["h-h0"].get("schedulable", "active") == "active"
    ok(state, "host.set_schedulable", {"id": "h-h1", "mode": "draining"})   # h2 is still in zone b


def test_operator_labels_survive_a_rejoin_and_move_group_counts():
    state = cluster(1, h0={"zone": "a"})
    group(state, "db", "spread", domain="zone")
    create(state, "a", "h-h0", group="db")
    ok(state, "host.set_labels", {"id": "h-h0", "labels": {"zone": "b", "gpu": "a100"}, "remove": []})
    assert state.placement.group_counts["pg-db"] == {"b": 1}
    join(state, "h0", zone="a")
    assert state.hosts["h-h0"]["labels"] == {"zone": "b", "gpu": "a100"}
    ok(state, "host.set_labels", {"id": "h-h0", "labels": {}, "remove": ["zone"]})
    assert state.hosts["h-h0"]["labels"] == {"zone": "a", "gpu": "a100"}
    assert state.placement.hosts_with("gpu", ["a100"]) == {"h-h0"}


def test_move_rechecks_the_target_and_moves_the_allocation():
    state = cluster(2)
    group(state, "db", "anti-affinity")
    create(state, "a", "h-h0", group="db", restart_policy="always")
    create(state, "b", "h-h1", group="db")
    refused = apply(state, "instance.move", {"id": "i-a", "from_host_id": "h-h0", "to_host_id": "h-h1"})
    assert error_code(refused) == "FAILED_PRECONDITION"
    assert state.instances["i-a"]["host_id"] == "h-h0"
    assert state.placement.group_counts["pg-db"] == {"h-h0": 1, "h-h1": 1}
    join(state, "h2")
    moved = ok(state, "instance.move", {"id": "i-a", "from_host_id": "h-h0", "to_host_id": "h-h2"})
    assert moved["instance"]["host_id"] == "h-h2" and moved["instance"]["state"] == "pending"
    assert state.hosts["h-h0"]["allocated"]["vcpus"] == 0 and state.hosts["h-h2"]["allocated"]["vcpus"] == 1
    assert state.placement.group_counts["pg-db"] == {"h-h2": 1, "h-h1": 1}
    assert [i["id"] for i in state.instances_on("h-h2")] == ["i-a"]
    stale = apply(state, "instance.move", {"id": "i-a", "from_host_id": "h-h0", "to_host_id": "h-h1"})
    assert error_code(stale) == "FAILED_PRECONDITION"


def test_the_index_is_rebuilt_from_a_snapshot():
    state = cluster(3, h0={"zone": "a"}, h1={"zone": "b"}, h2={"zone": "b"})
    group(state, "db", "spread", domain="zone")
    create(state, "a", "h-h0", group="db")
    create(state, "b", "h-h1", group="db")
    copy = ClusterState.from_dict(state.to_dict())
    assert copy.placement.group_counts == state.placement.group_counts
    assert copy.placement.by_host == state.placement.by_host
    assert copy.placement.label_hosts == state.placement.label_hosts


def test_a_relabel_that_members_would_break_is_refused():
    state = cluster(2, h0={"zone": "a"}, h1={"zone": "b"})
    group(state, "db", "anti-affinity", domain="zone")
    create(state, "a", "h-h0", group="db")
    create(state, "b", "h-h1", group="db")
    result = apply(state, "host.set_labels", {"id": "h-h1", "labels": {"zone": "a"}, "remove": []})
    assert error_code(result) == "FAILED_PRECONDITION" and "would break group 'db'" in result["error"]["message"]
    result = apply(state, "host.set_labels", {"id": "h-h1", "labels": {}, "remove": ["zone"]})
    assert error_code(result) == "FAILED_PRECONDITION"
    assert state.hosts["h-h1"]["labels"] == {"zone": "b"}
    ok(state, "host.set_labels", {"id": "h-h1", "labels": {"zone": "c"}, "remove": []})
    assert state.placement.group_counts["pg-db"] == {"a": 1, "c": 1}
