"""The agent over mTLS gRPC, running real containers on the real Docker Engine."""
from __future__ import annotations

import signal

import docker.errors
import grpc
import pytest

from proto.v1 import agent_pb2, resources_pb2
from tests.conftest import BUSYBOX_IMAGE
from tests.integration.agent.agent_calls import (HTTPD, MiB, State, container_of, ensure,
                                                 new_instance_id, wait_for)

def test_ensure_runs_a_container_then_is_idempotent_stops_and_removes(start_agent, docker_client):
    agent = start_agent()
    stub = agent.stub()
    iid = new_instance_id()

    observed = stub.EnsureInstance(ensure(iid, vcpus=1, memory=96 * MiB, env={"GREETING": "hi"}))
    assert observed.state == State.INSTANCE_STATE_RUNNING, observed.reason
    assert observed.instance_id == iid and observed.started_at_ms > 0

    container = container_of(docker_client, iid)
    assert container.id == observed.runtime_id
    assert container.status == "running"
    host_config = container.attrs["HostConfig"]
    assert host_config["NanoCpus"] == 1_000_000_000
    assert host_config["Memory"] == 96 * MiB
    assert container.attrs["Config"]["Cmd"] == HTTPD
    assert "GREETING=hi" in container.attrs["Config"]["Env"]
    labels = container.labels
    assert labels["thecloud.instance-id"] == iid
    assert labels["thecloud.agent"] == agent.name
    assert labels["thecloud.name"] == "web"
    assert labels["thecloud.project"] == "default"
    assert labels["thecloud.spec-hash"]
    started_at = container.attrs["State"]["StartedAt"]

    again = stub.EnsureInstance(ensure(iid, vcpus=1, memory=96 * MiB, env={"GREETING": "hi"}))
    assert again.state == State.INSTANCE_STATE_RUNNING
    assert again.runtime_id == observed.runtime_id
    container.reload()
    assert container.attrs["State"]["StartedAt"] == started_at

    listed = stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances
    assert [(i.instance_id, i.state) for i in listed] == [(iid, State.INSTANCE_STATE_RUNNING)]

    stopped = stub.EnsureInstance(ensure(iid, desired="stopped", vcpus=1, memory=96 * MiB,
                                         env={"GREETING": "hi"}))
    assert stopped.state == State.INSTANCE_STATE_STOPPED
    assert stopped.runtime_id == observed.runtime_id
    container.reload()
    assert container.status == "exited"

    restarted = stub.EnsureInstance(ensure(iid, vcpus=1, memory=96 * MiB, env={"GREETING": "hi"}))
    assert restarted.state == State.INSTANCE_STATE_RUNNING
    assert restarted.runtime_id == observed.runtime_id

    removed = stub.RemoveInstance(agent_pb2.RemoveInstanceRequest(
        fence=agent_pb2.Fence(term=1), instance_id=iid))
    assert removed.existed
    with pytest.raises(docker.errors.NotFound):
        container_of(docker_client, iid)
    assert not stub.RemoveInstance(agent_pb2.RemoveInstanceRequest(
        fence=agent_pb2.Fence(term=1), instance_id=iid)).existed
    assert list(stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances) == []


def test_changed_spec_recreates_the_container(start_agent, docker_client):
    stub = start_agent().stub()
    iid = new_instance_id()
    first = stub.EnsureInstance(ensure(iid, memory=64 * MiB))
    second = stub.EnsureInstance(ensure(iid, memory=128 * MiB))
    assert second.state == State.INSTANCE_STATE_RUNNING
    assert second.runtime_id != first.runtime_id
    assert container_of(docker_client, iid).attrs["HostConfig"]["Memory"] == 128 * MiB
    with pytest.raises(docker.errors.NotFound):
        docker_client.containers.get(first.runtime_id)


def test_logs_come_back_and_unknown_instances_are_not_found(start_agent):
    stub = start_agent().stub()
    iid = new_instance_id()
    stub.EnsureInstance(ensure(iid, command=["sh", "-c", "echo hello; echo world; sleep 1000"]))

    def logs(tail=0):
        return stub.InstanceLogs(agent_pb2.AgentInstanceLogsRequest(instance_id=iid,
                                                                    tail_lines=tail)).data

    assert wait_for(lambda: b"world" in logs()), logs()
    assert logs() == b"hello\nworld\n"
    assert logs(tail=1) == b"world\n"
    with pytest.raises(grpc.RpcError) as err:
        stub.InstanceLogs(agent_pb2.AgentInstanceLogsRequest(instance_id=new_instance_id()))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_an_instance_that_exits_on_its_own_is_reported_failed_not_restarted(start_agent):
    stub = start_agent().stub()
    iid = new_instance_id()
    request = ensure(iid, command=["sh", "-c", "exit 3"])
    stub.EnsureInstance(request)

    def observed():
        items = stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances
        return next((i for i in items if i.state == State.INSTANCE_STATE_FAILED), None)

    failed = wait_for(observed)
    assert failed is not None
    assert failed.exit_code == 3 and failed.reason == "exited with code 3"
    again = stub.EnsureInstance(request)
    assert again.state == State.INSTANCE_STATE_FAILED
    assert again.started_at_ms == failed.started_at_ms


@pytest.mark.parametrize("mutate, field, legacy", [
    (lambda r: setattr(r, "instance_id", ""), "instance_id", False),
    (lambda r: setattr(r, "instance_id", "bad/id"), "instance_id", False),
    (lambda r: setattr(r, "desired_state", "paused"), "desired_state", False),
    (lambda r: setattr(r, "desired_state", ""), "desired_state", False),
    (lambda r: r.ClearField("host_spec"), "host_spec", False),
    (lambda r: setattr(r.host_spec, "image", ""), "host_spec.image", False),
    (lambda r: setattr(r.host_spec, "vcpus", 0), "host_spec.vcpus", False),
    (lambda r: setattr(r.host_spec, "vcpus", -2), "host_spec.vcpus", False),
    (lambda r: setattr(r.host_spec, "memory_bytes", 0), "host_spec.memory_bytes", False),
    (lambda r: setattr(r.host_spec, "kind", "toaster"), "host_spec.kind", False),
    (lambda r: setattr(r.host_spec, "restart_policy", "sometimes"), "host_spec.restart_policy", False),
    (lambda r: setattr(r, "name", "Not A Name"), "name", False),
    # A release 0.1 scheduler's call (the public spec alone): the fields it sent are named.
    (lambda r: r.ClearField("spec"), "host_spec", True),
    (lambda r: setattr(r.spec, "image", ""), "spec.image", True),
    (lambda r: setattr(r.spec, "vcpus", 0), "spec.vcpus", True),
    (lambda r: setattr(r.spec, "kind", "toaster"), "spec.kind", True),
    (lambda r: setattr(r.spec, "restart_policy", "sometimes"), "spec.restart_policy", True),
])
def test_bad_input_is_refused_and_creates_nothing(start_agent, docker_client, mutate, field, legacy):
    agent = start_agent()
    stub = agent.stub()
    request = ensure(new_instance_id(), legacy=legacy)
    mutate(request)
    with pytest.raises(grpc.RpcError) as err:
        stub.EnsureInstance(request)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details().startswith(f"{field}:"), err.value.details()
    assert docker_client.containers.list(all=True, filters={"label": f"thecloud.agent={agent.name}"}) == []
    assert list(stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances) == []


def test_bad_input_on_remove_and_logs(start_agent):
    stub = start_agent().stub()
    for call, request, field in [
        (stub.RemoveInstance, agent_pb2.RemoveInstanceRequest(), "instance_id"),
        (stub.InstanceLogs, agent_pb2.AgentInstanceLogsRequest(), "instance_id"),
        (stub.InstanceLogs, agent_pb2.AgentInstanceLogsRequest(instance_id="i-1", tail_lines=-1),
         "tail_lines"),
    ]:
        with pytest.raises(grpc.RpcError) as err:
            call(request)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert err.value.details().startswith(f"{field}:")


def test_unknown_image_fails_clearly_and_leaves_nothing(start_agent, docker_client):
    agent = start_agent()
    stub = agent.stub()
    iid = new_instance_id()
    observed = stub.EnsureInstance(ensure(iid, image="thecloud/no-such-image:never"))
    assert observed.state == State.INSTANCE_STATE_FAILED
    assert observed.reason == "image thecloud/no-such-image:never not found on host"
    assert observed.runtime_id == ""
    assert docker_client.containers.list(all=True, filters={"label": f"thecloud.agent={agent.name}"}) == []
    listed = stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances
    assert [(i.instance_id, i.state, i.reason) for i in listed] == [
        (iid, State.INSTANCE_STATE_FAILED, observed.reason)]


def test_a_container_the_engine_refuses_leaves_nothing(start_agent, docker_client):
    agent = start_agent()
    observed = agent.stub().EnsureInstance(ensure(new_instance_id(), vcpus=512))
    assert observed.state == State.INSTANCE_STATE_FAILED
    assert observed.reason.startswith("cannot create container:"), observed.reason
    assert "CPUs" in observed.reason
    assert docker_client.containers.list(all=True, filters={"label": f"thecloud.agent={agent.name}"}) == []


def test_a_command_that_does_not_exist_fails_with_its_exit_code_and_logs(start_agent):
    stub = start_agent().stub()
    iid = new_instance_id()
    observed = stub.EnsureInstance(ensure(iid, command=["/no/such/binary"]))
    if observed.state == State.INSTANCE_STATE_RUNNING:  # it may not have died yet
        observed = wait_for(lambda: next((i for i in stub.ListInstances(
            agent_pb2.ListAgentInstancesRequest()).instances
            if i.state != State.INSTANCE_STATE_RUNNING), None), timeout=30)
    assert observed.state == State.INSTANCE_STATE_FAILED
    assert observed.exit_code == 127 and observed.reason == "exited with code 127"
    logs = stub.InstanceLogs(agent_pb2.AgentInstanceLogsRequest(instance_id=iid)).data
    assert b"/no/such/binary" in logs


def test_a_lower_fence_term_is_refused_and_survives_restart(start_agent, docker_client):
    agent = start_agent()
    stub = agent.stub()
    iid = new_instance_id()
    assert stub.EnsureInstance(ensure(iid, term=7)).state == State.INSTANCE_STATE_RUNNING

    with pytest.raises(grpc.RpcError) as err:
        stub.RemoveInstance(agent_pb2.RemoveInstanceRequest(fence=agent_pb2.Fence(term=6),
                                                            instance_id=iid))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert err.value.details() == "stale term 6 < 7"
    assert container_of(docker_client, iid).status == "running"

    agent.kill()
    stub = agent.start().stub()
    assert stub.GetInfo(agent_pb2.GetAgentInfoRequest()).highest_term == 7
    with pytest.raises(grpc.RpcError) as err:
        stub.EnsureInstance(ensure(iid, desired="stopped", term=3))
    assert err.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert stub.EnsureInstance(ensure(iid, desired="stopped", term=8)).state == State.INSTANCE_STATE_STOPPED
    assert stub.GetInfo(agent_pb2.GetAgentInfoRequest()).highest_term == 8


def test_a_killed_agent_adopts_its_running_container(start_agent, docker_client):
    agent = start_agent()
    stub = agent.stub()
    iid, stranger = new_instance_id(), new_instance_id()
    first = stub.EnsureInstance(ensure(iid))
    container = container_of(docker_client, iid)
    started_at = container.attrs["State"]["StartedAt"]

    assert agent.kill() == -9
    # A container labelled for this agent that its journal does not know is reported too.
    docker_client.containers.run(
        BUSYBOX_IMAGE, ["sleep", "1000"], name=f"thecloud-{agent.name}-{stranger}", detach=True,
        labels={"thecloud.instance-id": stranger, "thecloud.agent": agent.name})
    stub = agent.start().stub()

    listed = {i.instance_id: i for i in stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances}
    assert set(listed) == {iid, stranger}
    assert listed[iid].state == State.INSTANCE_STATE_RUNNING
    assert listed[iid].runtime_id == first.runtime_id
    assert "adopted instance " + iid in agent.log()

    again = stub.EnsureInstance(ensure(iid))
    assert again.runtime_id == first.runtime_id
    container.reload()
    assert container.attrs["State"]["StartedAt"] == started_at
    assert container.status == "running"


def test_agents_sharing_an_engine_see_only_their_own(start_agent, docker_client):
    one, two = start_agent(), start_agent()
    id_one, id_two = new_instance_id(), new_instance_id()
    one.stub().EnsureInstance(ensure(id_one, command=["sleep", "1000"]))
    two.stub().EnsureInstance(ensure(id_two, command=["sleep", "1000"]))

    def ids(agent):
        return [i.instance_id for i in agent.stub().ListInstances(
            agent_pb2.ListAgentInstancesRequest()).instances]

    assert ids(one) == [id_one]
    assert ids(two) == [id_two]
    assert not two.stub().RemoveInstance(agent_pb2.RemoveInstanceRequest(
        fence=agent_pb2.Fence(term=1), instance_id=id_one)).existed
    assert container_of(docker_client, id_one).status == "running"
    with pytest.raises(grpc.RpcError) as err:
        two.stub().InstanceLogs(agent_pb2.AgentInstanceLogsRequest(instance_id=id_one))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND


def test_get_info_reports_the_host(start_agent):
    agent = start_agent(capacity_vcpus=16, capacity_memory="32G", labels={"zone": "a"})
    info = agent.stub().GetInfo(agent_pb2.GetAgentInfoRequest())
    assert info.host_name == agent.name
    assert info.capacity.vcpus == 16 and info.capacity.memory_bytes == 32 * 1024**3
    assert info.capacity.disk_bytes > 0
    assert info.usage.memory_total_bytes > 0 and info.usage.disk_total_bytes > 0
    assert list(info.drivers) == ["compute:docker"]
    assert info.agent_version


def test_calls_without_a_cluster_certificate_are_refused(start_agent, tmp_path):
    from common.tls import ensure_ca, issue
    from common.grpcserve import secure_channel
    from proto.v1 import agent_pb2_grpc

    agent = start_agent()
    stranger_ca = ensure_ca(tmp_path / "other-ca", "other")
    tls = issue(stranger_ca, tmp_path / "other", "intruder", "scheduler", ["127.0.0.1"])
    tls.ca.write_bytes(agent.client_tls.ca.read_bytes())  # trusts the agent, is not trusted by it
    with secure_channel(agent.address, tls, server_name=agent.server_name) as channel:
        with pytest.raises(grpc.RpcError) as err:
            agent_pb2_grpc.AgentStub(channel).GetInfo(agent_pb2.GetAgentInfoRequest(), timeout=5)
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_sigterm_stops_the_agent_cleanly_and_leaves_instances_running(start_agent, docker_client):
    agent = start_agent()
    iid = new_instance_id()
    agent.stub().EnsureInstance(ensure(iid, command=["sleep", "1000"]))
    assert agent.kill(signal.SIGTERM) == 0
    assert "agent stopped" in agent.log()
    assert container_of(docker_client, iid).status == "running"
