from __future__ import annotations

import pytest

from agent.compute.base import InstanceSpec
from agent.compute.docker import confinement_gap, epoch_ms, instance_state, restarts
from proto.v1 import agent_pb2, resources_pb2

S = resources_pb2.InstanceState


@pytest.mark.parametrize("status, exit_code, oom, error, desired, expected", [
    ("running", 0, False, "", "running", (S.INSTANCE_STATE_RUNNING, "")),
    ("created", 0, False, "", "running", (S.INSTANCE_STATE_STOPPED, "created, not started")),
    ("exited", 137, False, "", "stopped", (S.INSTANCE_STATE_STOPPED, "stopped")),
    ("exited", 0, False, "", "running", (S.INSTANCE_STATE_STOPPED, "exited with code 0")),
    ("exited", 3, False, "", "running", (S.INSTANCE_STATE_FAILED, "exited with code 3")),
    ("exited", 3, False, "", None, (S.INSTANCE_STATE_FAILED, "exited with code 3")),
    ("exited", 137, True, "", "running", (S.INSTANCE_STATE_FAILED, "killed: out of memory")),
    ("exited", 127, False, "exec failed", "running",
     (S.INSTANCE_STATE_FAILED, "exited with code 127: exec failed")),
    ("restarting", 1, False, "", "running", (S.INSTANCE_STATE_PENDING, "restarting after exit code 1")),
    ("paused", 0, False, "", "running", (S.INSTANCE_STATE_STOPPED, "paused")),
    ("removing", 0, False, "", "running", (S.INSTANCE_STATE_DELETING, "being removed")),
    ("dead", 0, False, "device busy", "running", (S.INSTANCE_STATE_FAILED, "dead: device busy")),
    ("weird", 0, False, "", "running", (S.INSTANCE_STATE_UNSPECIFIED, "unknown engine state 'weird'")),
])
def test_docker_states_map_to_instance_states(status, exit_code, oom, error, desired, expected):
    assert instance_state(status, exit_code, oom, error, desired) == expected


def test_docker_times_become_epoch_milliseconds():
    assert epoch_ms("0001-01-01T00:00:00Z") == 0
    assert epoch_ms("") == 0 and epoch_ms(None) == 0
    assert epoch_ms("2024-01-02T03:04:05.123456789Z") == 1704164645123
    assert epoch_ms("2024-01-02T03:04:05Z") == 1704164645000
    assert epoch_ms("2024-01-02T04:04:05.5+01:00") == 1704164645500


KEY = b"k" * 32


def test_spec_hash_follows_what_needs_a_new_container():
    spec = agent_pb2.HostInstanceSpec(image="img", vcpus=1, memory_bytes=64, command=["a"],
                                      env={"B": "2", "A": "1"})
    base = InstanceSpec.from_proto(spec).spec_hash(KEY)
    same = agent_pb2.HostInstanceSpec()
    same.CopyFrom(spec)
    same.env_from_secrets = True      # decides which older hashes are accepted, not the hash
    assert InstanceSpec.from_proto(same).spec_hash(KEY) == base
    for change in (lambda s: setattr(s, "image", "other"), lambda s: setattr(s, "vcpus", 2),
                   lambda s: setattr(s, "memory_bytes", 65), lambda s: s.command.append("b"),
                   lambda s: s.env.update({"A": "9"}), lambda s: setattr(s, "restart_policy", "always"),
                   lambda s: setattr(s, "vpc_port", True)):
        changed = agent_pb2.HostInstanceSpec()
        changed.CopyFrom(spec)
        change(changed)
        assert InstanceSpec.from_proto(changed).spec_hash(KEY) != base
    assert InstanceSpec.from_proto(agent_pb2.HostInstanceSpec(image="i", vcpus=1, memory_bytes=1)).restart_policy == "never"


@pytest.mark.parametrize("policy, exit_code, expected", [
    ("never", 1, False), ("never", 0, False), ("on-failure", 0, False),
    ("on-failure", 2, True), ("always", 0, True), ("always", 137, True),
])
def test_restart_policy_decides_whether_an_exited_instance_runs_again(policy, exit_code, expected):
    assert restarts(policy, exit_code) is expected


CONFINED = {"NetworkMode": "none", "CapDrop": ["ALL"], "CapAdd": ["CHOWN", "NET_RAW"],
            "SecurityOpt": ["no-new-privileges"], "PidsLimit": 1024}


@pytest.mark.parametrize("change, gap", [
    ({}, ""),
    ({"PidsLimit": 50}, ""),                                   # another limit applies to new ones
    ({"CapDrop": ["CAP_ALL"], "CapAdd": ["CAP_CHOWN"]}, ""),   # newer engines spell them so
    ({"NetworkMode": "default"}, "network mode 'default'"),
    ({"NetworkMode": "bridge"}, "network mode 'bridge'"),
    ({"CapDrop": None}, "capabilities not dropped"),
    ({"CapAdd": ["SYS_ADMIN", "CHOWN"]}, "capabilities SYS_ADMIN"),
    ({"SecurityOpt": None}, "no no-new-privileges"),
    ({"PidsLimit": None}, "no pids limit"),
    ({"PidsLimit": 0}, "no pids limit"),
])
def test_confinement_gap_names_what_an_older_container_lacks(change, gap):
    assert confinement_gap({**CONFINED, **change}) == gap
