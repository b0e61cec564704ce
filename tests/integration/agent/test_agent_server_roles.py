"""Issue 14, finding 1: clients check the server's role, bound into its certificate's names.

The CLI and the agent's scheduler link accept only a scheduler certificate; the
leader accepts only the agent certificate of the host it dials. A server with a
real certificate of the cluster CA, but of the wrong role or host, fails the
TLS handshake (UNAVAILABLE) before any request is sent.
"""
from __future__ import annotations

import grpc
import pytest

from agent.heartbeat import SchedulerLink
from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common.grpcserve import make_server, serve_health_and_reflection
from common.tls import issue
from proto.v1 import agent_pb2, node_pb2, public_pb2
from scheduler.agents import AgentClients
from tests.conftest import free_port
from tests.integration.agent.agent_attacks import LOOPBACK_SANS

QUICK = RetryPolicy(call_timeout=5.0, budget=2.0)


@pytest.fixture
def fake_scheduler(cluster_ca, tmp_path):
    """fake_scheduler(role) -> the address of a gRPC server presenting a `role` certificate
    of the cluster CA (it serves only health: a call that gets through is UNIMPLEMENTED)."""
    servers = []

    def serve(role: str, name: str) -> str:
        tls = issue(cluster_ca, tmp_path / f"served-{name}", name, role, LOOPBACK_SANS)
        address = f"127.0.0.1:{free_port()}"
        server = make_server(address, tls, max_workers=2)
        serve_health_and_reflection(server, [])
        server.start()
        servers.append(server)
        return address

    yield serve
    for server in servers:
        server.stop(0)


def cli_code(address: str, tls) -> grpc.StatusCode:
    with ClusterClient([address], tls, read_policy=QUICK) as client:
        with pytest.raises(RpcFailure) as err:
            client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    return err.value.code


def link_code(address: str, tls) -> grpc.StatusCode:
    link = SchedulerLink([address], tls)
    try:
        with pytest.raises(grpc.RpcError) as err:
            link.call("Join", node_pb2.JoinRequest(host_name="host-a"))
    finally:
        link.close()
    return err.value.code()


def test_the_cli_talks_only_to_scheduler_certificates(fake_scheduler, cluster_ca, tmp_path):
    admin = issue(cluster_ca, tmp_path / "admin", "admin", "admin", LOOPBACK_SANS)
    # The handshake passes with a scheduler's certificate: the fake just lacks the service.
    assert cli_code(fake_scheduler("scheduler", "sched-x"), admin) == grpc.StatusCode.UNIMPLEMENTED
    for role, name in (("agent", "host-b"), ("admin", "admin-2"), ("client", "bob")):
        assert cli_code(fake_scheduler(role, name), admin) == grpc.StatusCode.UNAVAILABLE, role


def test_the_agent_talks_only_to_scheduler_certificates(fake_scheduler, cluster_ca, tmp_path):
    agent = issue(cluster_ca, tmp_path / "host-a", "host-a", "agent", LOOPBACK_SANS)
    assert link_code(fake_scheduler("scheduler", "sched-x"), agent) == grpc.StatusCode.UNIMPLEMENTED
    for role, name in (("agent", "host-b"), ("admin", "admin-2"), ("client", "bob")):
        assert link_code(fake_scheduler(role, name), agent) == grpc.StatusCode.UNAVAILABLE, role


def test_the_cli_refuses_a_real_agent_at_a_scheduler_endpoint(start_agent, cluster_ca, tmp_path):
    agent = start_agent()
    admin = issue(cluster_ca, tmp_path / "admin", "admin", "admin", LOOPBACK_SANS)
    assert cli_code(agent.address, admin) == grpc.StatusCode.UNAVAILABLE


def test_the_leader_talks_only_to_the_agent_of_the_host_it_dials(start_agent, scheduler_tls):
    host_b = start_agent()
    clients = AgentClients(scheduler_tls)
    try:
        # Host A's record points at the address where host B's agent listens.
        with pytest.raises(grpc.RpcError) as err:
            clients.stub({"name": "host-a", "address": host_b.address}).GetInfo(
                agent_pb2.GetAgentInfoRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        info = clients.stub({"name": host_b.name, "address": host_b.address}).GetInfo(
            agent_pb2.GetAgentInfoRequest(), timeout=10)
        assert info.host_name == host_b.name
    finally:
        clients.close()
