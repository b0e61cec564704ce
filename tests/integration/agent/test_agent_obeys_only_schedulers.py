"""Issue 14, finding 1: the agent API obeys only scheduler certificates (agent/authz.py).

A real agent daemon on the real Docker Engine, called with real certificates of
the cluster CA of every other role, and of a foreign CA.
"""
from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpcserve import secure_channel
from common.tls import ensure_ca, issue
from proto.v1 import agent_pb2, agent_pb2_grpc, volumes_pb2, volumes_pb2_grpc
from tests.integration.agent.agent_attacks import HUGE_TERM, LOOPBACK_SANS, MiB, attacks, call_all, new_volume_id
from tests.integration.agent.agent_calls import State, container_of, ensure, new_instance_id, wait_for


@pytest.fixture
def intruders(cluster_ca, tmp_path):
    """Certificates of the cluster CA of every role but scheduler (the agent's is another host's)."""
    return {role: issue(cluster_ca, tmp_path / f"{role}-tls", name, role, LOOPBACK_SANS)
            for role, name in (("admin", "admin"), ("agent", "host-b"), ("client", "bob"))}


class Victim:
    """An agent the test scheduler already drives: a volume and a running instance."""

    def __init__(self, agent, term: int):
        self.agent, self.term = agent, term
        self.scheduler = agent.stub()
        channel = agent.channel()
        self.volumes = volumes_pb2_grpc.AgentVolumesStub(channel)
        self.volume = new_volume_id()
        self.volumes.EnsureVolume(volumes_pb2.EnsureVolumeRequest(
            fence=agent_pb2.Fence(term=term, leader="test-scheduler"), volume_id=self.volume,
            size_bytes=4 * MiB), timeout=30)
        self.instance = new_instance_id()
        observed = self.scheduler.EnsureInstance(ensure(self.instance, command=["sleep", "1000"], term=term),
                                                 timeout=60)
        assert observed.state == State.INSTANCE_STATE_RUNNING, observed.reason
        self.runtime_id = observed.runtime_id

    def assert_untouched(self, docker_client) -> None:
        """Nothing the intruder asked for happened."""
        containers = docker_client.containers.list(all=True, filters={"label": f"thecloud.agent={self.agent.name}"})
        assert [c.id for c in containers] == [self.runtime_id]
        assert containers[0].status == "running"
        assert not any(m.get("Destination") == "/stolen" for m in containers[0].attrs["Mounts"])
        listed = self.volumes.ListVolumes(volumes_pb2.ListAgentVolumesRequest(), timeout=10)
        assert [v.volume_id for v in listed.volumes] == [self.volume]
        assert not listed.snapshots
        info = self.scheduler.GetInfo(agent_pb2.GetAgentInfoRequest(), timeout=10)
        assert info.highest_term == self.term

    def assert_still_driven(self, docker_client) -> None:
        """The scheduler, at its own term, still runs and removes instances here."""
        fresh = new_instance_id()
        observed = self.scheduler.EnsureInstance(ensure(fresh, command=["sleep", "1000"], term=self.term),
                                                 timeout=60)
        assert observed.state == State.INSTANCE_STATE_RUNNING, observed.reason
        assert container_of(docker_client, fresh).status == "running"
        for iid in (fresh, self.instance):
            self.scheduler.RemoveInstance(agent_pb2.RemoveInstanceRequest(
                fence=agent_pb2.Fence(term=self.term, leader="test-scheduler"), instance_id=iid), timeout=30)
        assert wait_for(lambda: not docker_client.containers.list(
            all=True, filters={"label": f"thecloud.agent={self.agent.name}"}), timeout=30)


@pytest.mark.parametrize("role", ["admin", "agent", "client"])
def test_every_agent_method_refuses_a_non_scheduler_certificate(role, start_agent, intruders,
                                                                docker_client):
    agent = start_agent()
    victim = Victim(agent, term=2)
    calls = attacks(victim.instance, victim.volume, HUGE_TERM)

    for method, err in call_all(agent.address, agent.server_name, intruders[role], calls):
        assert err.code() == grpc.StatusCode.PERMISSION_DENIED, (method, err.details())
        assert "obeys only schedulers" in err.details() and f"role {role!r}" in err.details()

    victim.assert_untouched(docker_client)
    # One line for all those refusals: the peer and the first method, not a flood.
    refused = [line for line in agent.log().splitlines() if "refused /thecloud.v1." in line]
    assert len(refused) == 1, refused
    assert "refused /thecloud.v1.Agent/EnsureInstance from" in refused[0]
    assert f"(role {role!r})" in refused[0] and "127.0.0.1" in refused[0]
    # Health stays open to every certificate of the cluster CA.
    with secure_channel(agent.address, intruders[role], server_name=agent.server_name) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    victim.assert_still_driven(docker_client)


def test_a_foreign_ca_certificate_fails_the_handshake(start_agent, tmp_path, docker_client):
    agent = start_agent()
    victim = Victim(agent, term=1)
    foreign = issue(ensure_ca(tmp_path / "foreign-ca", "foreign"), tmp_path / "foreign", "evil", "scheduler",
                    LOOPBACK_SANS)
    foreign.ca.write_bytes(agent.client_tls.ca.read_bytes())   # it trusts the agent; the agent does not trust it
    for method, err in call_all(agent.address, agent.server_name, foreign, attacks(victim.instance, victim.volume, HUGE_TERM)):
        assert err.code() == grpc.StatusCode.UNAVAILABLE, (method, err.details())
    victim.assert_untouched(docker_client)
    victim.assert_still_driven(docker_client)


def test_a_huge_term_from_a_non_scheduler_does_not_fence_out_the_leader(start_agent, intruders,
                                                                         docker_client):
    agent = start_agent()
    victim = Victim(agent, term=3)
    for role in ("agent", "admin", "client"):
        with secure_channel(agent.address, intruders[role], server_name=agent.server_name) as channel:
            with pytest.raises(grpc.RpcError) as err:
                agent_pb2_grpc.AgentStub(channel).EnsureInstance(
                    ensure(new_instance_id(), term=HUGE_TERM), timeout=10)
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    victim.assert_untouched(docker_client)

    # The fence is durable: after a restart the agent still obeys the real leader's term.
    agent.kill()
    agent.start()
    assert agent.stub().GetInfo(agent_pb2.GetAgentInfoRequest(), timeout=10).highest_term == 3
    victim.assert_still_driven(docker_client)
