"""Declared commands of volumes, evacuations, membership, enrollment and the CA rotation:
what proposers sent before (older journals) still decodes, and a command refused
after its lookups succeeded — by a check of the handler, not of the decoder —
changes nothing."""
from __future__ import annotations

import pytest

from state_world import StateWorld

GiB = 1024**3
MiB = 1024**2


@pytest.fixture
def cluster() -> StateWorld:
    c = StateWorld()
    for i in (1, 2):
        c.ok("host.join", {"id": f"h-{i}", "name": f"node-{i}", "address": f"127.0.0.1:{i}",
                           "capacity": {"vcpus": 8, "memory_bytes": 4096 * MiB, "disk_bytes": 0}})
    c.ok("instance.create", {"id": "i-1", "name": "web-1", "project": "default", "host_id": "h-1",
                             "spec": {"image": "busybox", "vcpus": 1, "memory_bytes": 64 * MiB,
                                      "disk_bytes": 0}})
    # Integral floats (JSON written from a float) decode as whole numbers.
    c.ok("volume.pool", {"host_id": "h-1", "driver": "lvm", "total_bytes": float(10 * GiB),
                         "used_bytes": 0.0})
    c.ok("volume.create", {"id": "v-1", "name": "data", "project": "default", "size_bytes": GiB,
                           "host_id": "h-1", "source_snapshot_id": "", "overcommit": 1.0,
                           "labels": {}, "request_id": ""})
    return c


def test_volume_refusals_past_lookups_change_nothing(cluster):
    assert cluster.state.pools["h-1"]["total_bytes"] == 10 * GiB
    assert isinstance(cluster.state.pools["h-1"]["total_bytes"], int)
    cluster.refused("volume.create", {"id": "v-2", "name": "big", "project": "default",
                                      "size_bytes": 20 * GiB, "host_id": "h-1"}, "RESOURCE_EXHAUSTED")
    cluster.refused("volume.resize", {"id": "v-1", "size_bytes": GiB // 2}, "INVALID_ARGUMENT")
    cluster.refused("volume.attach", {"id": "v-1", "instance_id": "i-1", "path": "data"},
                    "INVALID_ARGUMENT")
    cluster.refused("volume.attach", {"id": "v-1", "instance_id": "i-1", "path": "/data"},
                    "FAILED_PRECONDITION")          # still creating
    # What the volume reconciler sends when the agent refuses.
    cluster.ok("volume.observe", {"id": "v-1", "host_id": "h-1", "state": "error", "reason": "NOT_FOUND: x"})
    assert cluster.state.volumes["v-1"]["reason"] == "NOT_FOUND: x"
    cluster.ok("volume.observe", {"id": "v-1", "host_id": "h-1", "state": "available",
                                  "size_bytes": GiB, "used_bytes": 0, "revert_generation": 0})
    cluster.ok("snapshot.create", {"id": "s-1", "name": "s1", "project": "default", "volume_id": "v-1",
                                   "overcommit": 2.0, "labels": {}, "request_id": ""})
    cluster.refused("volume.delete", {"id": "v-1", "cascade": False}, "FAILED_PRECONDITION")
    cluster.refused("volume.revert", {"id": "v-1", "snapshot_id": "s-1"}, "FAILED_PRECONDITION")


def test_evacuation_refusals_past_lookups_change_nothing(cluster):
    item = {"name": "web-1", "project": "default", "status": "planned", "reason": "",
            "to_host_id": "", "attempts": 0}
    cluster.refused("host.evacuate", {"id": "h-1", "evacuation_id": "ev-1", "parallel": 2,
                                      "items": {"i-1": {**item, "status": "wandering"}}}, "INVALID_ARGUMENT")
    cluster.refused("host.evacuate", {"id": "h-1", "evacuation_id": "ev-1", "parallel": 0,
                                      "items": {"i-1": item}}, "INVALID_ARGUMENT")
    cluster.ok("host.evacuate", {"id": "h-1", "evacuation_id": "ev-1", "parallel": 2, "items": {"i-1": item}})
    progress = {"host_id": "h-1", "evacuation_id": "ev-1"}
    cluster.refused("host.evacuation_progress", {**progress, "finish": "later"}, "INVALID_ARGUMENT")
    cluster.refused("host.evacuation_progress", {**progress, "finish": "done"}, "FAILED_PRECONDITION")
    cluster.refused("host.evacuation_progress", {**progress, "items": {"i-1": {"name": "web-1"}}},
                    "INVALID_ARGUMENT")            # an item without its status
    cluster.refused("instance.evacuate", {"id": "i-1", "from_host_id": "h-1", "to_host_id": "h-1",
                                          "evacuation_id": "ev-2"}, "FAILED_PRECONDITION")
    cluster.ok("instance.evacuate", {"id": "i-1", "from_host_id": "h-1", "to_host_id": "h-2",
                                     "evacuation_id": "ev-1", "overcommit": {}, "reserved": {}})
    assert cluster.state.instances["i-1"]["host_id"] == "h-2"
    assert cluster.state.evacuations["h-1"]["items"]["i-1"]["status"] == "moving"


def test_restore_of_a_malformed_state_changes_nothing():
    empty = StateWorld()
    empty.refused("cluster.restore", {"state": {"hosts": ["not", "records"]}, "revision": 3},
                  "INVALID_ARGUMENT")
    empty.refused("cluster.restore", {"state": "a string"}, "INVALID_ARGUMENT")


def test_membership_refusals_change_nothing(cluster):
    cluster.ok("cluster.member_add", {"name": "sched-4", "api": "10.0.0.4:7101", "raft": "10.0.0.4:7201"})
    cluster.refused("cluster.member_add", {"name": "sched-5", "api": "a:1", "raft": "10.0.0.4:7201"},
                    "FAILED_PRECONDITION")
    cluster.refused("cluster.member_add", {"name": "", "api": "a:1", "raft": "b:2"}, "INVALID_ARGUMENT")
    cluster.refused("event.placement_failed", {"name": "x", "project": "p"}, "INVALID_ARGUMENT")


def test_enrollment_commands_of_older_journals_decode(cluster):
    token = {"token_id": "t-1", "secret_hash": "hash", "role": "agent", "name": "node-3",
             "addresses": ["10.0.0.3"], "expires_ms": 9_000_000, "created_by": "admin"}
    cluster.refused("join_token.create", {**token, "role": "admin"}, "INVALID_ARGUMENT")
    cluster.refused("join_token.create", {**token, "name": "node-1"}, "FAILED_PRECONDITION")
    cluster.ok("join_token.create", token)
    # Written before certificates named their CA: no "ca".
    use = {"token_id": "t-1", "secret_hash": "hash", "name": "node-3", "serial": "AB12",
           "not_after_ms": 8_000_000, "used_by": "10.0.0.3"}
    cluster.refused("join_token.use", {**use, "secret_hash": "wrong"}, "UNAUTHENTICATED")
    cluster.ok("join_token.use", use)
    assert cluster.state.certificates["agent/node-3"]["serial"] == "ab12"
    assert cluster.state.certificates["agent/node-3"]["ca"] == ""
    renew = {"role": "agent", "name": "node-1", "serial": "cd34", "not_after_ms": 8_000_000,
             "old": {"serial": "0a", "issued_ms": 1_000_000}}
    cluster.ok("certificate.renew", renew)
    cluster.refused("certificate.renew", {**renew, "old": {"serial": "0a"}}, "INVALID_ARGUMENT")
    cluster.refused("host.remove", {"ref": "node-1"}, "FAILED_PRECONDITION")      # holds a volume
    cluster.ok("host.remove", {"ref": "node-2"})
    cluster.refused("certificate.renew", {**renew, "name": "node-2"}, "NOT_FOUND")


def test_ca_rotation_refusals_change_nothing(cluster):
    begin = {"new_ca": "NEW", "old_ca": "OLD", "new_fp": "nf", "old_fp": "of"}
    cluster.refused("ca_rotation.begin", {**begin, "new_ca": ""}, "INVALID_ARGUMENT")
    cluster.refused("ca_rotation.reissue", {}, "FAILED_PRECONDITION")
    cluster.ok("ca_rotation.begin", begin)
    cluster.refused("ca_rotation.begin", begin, "FAILED_PRECONDITION")
    cluster.refused("ca_rotation.member", {"name": ""}, "INVALID_ARGUMENT")
    cluster.ok("ca_rotation.member", {"name": "sched-1", "fp": "nf"})
    cluster.ok("ca_rotation.reissue", {})
    cluster.refused("ca_rotation.finish", {}, "FAILED_PRECONDITION")     # agents still on the old CA
