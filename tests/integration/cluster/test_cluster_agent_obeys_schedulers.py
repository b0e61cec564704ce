"""Issue 14, finding 1, against a whole cluster: only the schedulers drive the agent.

Every other certificate of the cluster CA — the admin's, the agent's own,
another host's, a user's client certificate — calling any Agent* method on the
cluster's agent, with a huge Raft term, is refused; nothing changes in Docker;
the leader still drives the agent afterwards.
"""
from __future__ import annotations

import time

import grpc

from common.tls import TlsFiles, ensure_ca, issue, role_name
from proto.v1 import public_pb2, resources_pb2 as pb
from tests.integration.agent.agent_attacks import HUGE_TERM, LOOPBACK_SANS, attacks, call_all

MiB = 1024**2


def create(cluster, name):
    return cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=32 * MiB,
                                        command=["sleep", "1000"])))


def containers(docker_client, agent_name):
    return {c.labels["thecloud.instance-id"]: c for c in docker_client.containers.list(
        all=True, filters={"label": f"thecloud.agent={agent_name}"}, ignore_removed=True)}


def test_only_schedulers_drive_the_clusters_agent(cluster, docker_client, tmp_path):
    aio, home = cluster.aio, cluster.home
    agent_name, address = aio.agent_name, aio.agent.api
    victim = create(cluster, "victim")
    running = cluster.wait_instance("victim")
    before = {iid: c.id for iid, c in containers(docker_client, agent_name).items()}
    assert before[victim.meta.id] == running.runtime_id

    intruders = {
        "admin": aio.admin_tls,
        "the agent's own": TlsFiles.in_dir(home / "tls", agent_name),
        "another host's": issue(home / "ca", tmp_path / "host-b", "host-b", "agent", LOOPBACK_SANS),
        "client": issue(home / "ca", tmp_path / "bob", "bob", "client", LOOPBACK_SANS),
    }
    for who, tls in intruders.items():
        for method, err in call_all(address, role_name("agent", agent_name), tls,
                                    attacks(victim.meta.id, "v-0123456789abcdef", HUGE_TERM)):
            assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (who, method, err.details())
    foreign = issue(ensure_ca(tmp_path / "foreign-ca", "foreign"), tmp_path / "foreign", "evil",
                    "scheduler", LOOPBACK_SANS)
    foreign.ca.write_bytes(aio.admin_tls.ca.read_bytes())
    for method, err in call_all(address, role_name("agent", agent_name), foreign,
                                attacks(victim.meta.id, "v-0123456789abcdef", HUGE_TERM)):
        assert err.code() == grpc.StatusCode.UNAVAILABLE, (method, err.details())

    now = containers(docker_client, agent_name)
    assert {iid: c.id for iid, c in now.items()} == before
    assert now[victim.meta.id].status == "running"
    assert "refused /thecloud.v1.Agent/EnsureInstance" in aio.log_path(agent_name).read_text()

    # The leader's term was never overtaken: it still places, runs and deletes here.
    after = create(cluster, "after")
    assert cluster.wait_instance("after").host_name == agent_name
    assert containers(docker_client, agent_name)[after.meta.id].status == "running"
    for name in ("victim", "after"):
        cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))
    deadline = time.monotonic() + 60
    while containers(docker_client, agent_name) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not containers(docker_client, agent_name)
