"""The public API against a real cluster and the real Docker Engine."""
import time

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import public_pb2, resources_pb2 as pb
from cluster_harness import agent_containers

MiB = 1024**2


def spec(**kw):
    base = dict(image="thecloud/busybox:test", vcpus=1, memory_bytes=32 * MiB,
                command=["httpd", "-f", "-p", "8080"])
    base.update(kw)
    return pb.InstanceSpec(**base)


def create(cluster, name, **kw):
    return cluster.call("Instances", "CreateInstance",
                        public_pb2.CreateInstanceRequest(name=name, spec=spec(**kw)))


def code_of(cluster, method, request, service="Instances"):
    with pytest.raises(RpcFailure) as err:
        cluster.call(service, method, request)
    return err.value.code, str(err.value)


def test_cluster_status_shows_three_members_and_a_leader(cluster):
    status = cluster.status()
    assert len(status.members) == 3
    assert all(m.reachable for m in status.members)
    roles = sorted(pb.MemberRole.Name(m.role) for m in status.members)
    assert roles == ["MEMBER_ROLE_FOLLOWER", "MEMBER_ROLE_FOLLOWER", "MEMBER_ROLE_LEADER"]
    assert status.hosts_up == 1


def test_host_reports_capacity_usage_and_drivers(cluster):
    hosts = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts
    assert len(hosts) == 1
    deadline = time.monotonic() + 15
    while True:   # usage arrives with the first heartbeat after the join
        host = cluster.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=hosts[0].meta.name))
        if host.usage.memory_total_bytes or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert host.state == pb.HOST_STATE_UP
    assert host.capacity.memory_bytes > 0 and host.usage.memory_total_bytes > 0
    assert "compute:docker" in host.drivers
    assert "thecloud/busybox:test" in host.images


def test_instance_lifecycle_runs_a_real_container(cluster, docker_client):
    created = create(cluster, "life1")
    assert created.state == pb.INSTANCE_STATE_PENDING and created.host_name
    running = cluster.wait_instance("life1")
    container = docker_client.containers.get(running.runtime_id)
    assert container.status == "running"
    assert container.labels["thecloud.instance-id"] == created.meta.id
    assert container.attrs["HostConfig"]["Memory"] == 32 * MiB

    cluster.call("Instances", "StopInstance", public_pb2.StopInstanceRequest(name="life1"))
    cluster.wait_instance("life1", states=(pb.INSTANCE_STATE_STOPPED,))
    container.reload()
    assert container.status != "running"

    cluster.call("Instances", "StartInstance", public_pb2.StartInstanceRequest(name="life1"))
    cluster.wait_instance("life1")
    container.reload()
    assert container.status == "running"

    cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name="life1"))
    code, _ = _wait_gone(cluster, "life1")
    assert code == grpc.StatusCode.NOT_FOUND
    assert created.meta.id not in {c.labels.get("thecloud.instance-id")
                                   for c in agent_containers(docker_client, cluster.aio.agent_name)}


def _wait_gone(cluster, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
        except RpcFailure as err:
            return err.code, str(err)
        time.sleep(0.2)
    raise AssertionError(f"{name} was not deleted")


def test_logs_come_from_the_container(cluster):
    create(cluster, "talker", command=["sh", "-c", "echo hello-from-talker; sleep 3600"])
    cluster.wait_instance("talker")
    deadline = time.monotonic() + 20
    data = b""
    while b"hello-from-talker" not in data and time.monotonic() < deadline:
        data = cluster.call("Instances", "GetInstanceLogs",
                            public_pb2.GetInstanceLogsRequest(name="talker")).data
        time.sleep(0.2)
    assert b"hello-from-talker" in data


def test_a_failing_container_shows_the_reason(cluster):
    create(cluster, "crash", command=["sh", "-c", "exit 3"])
    failed = cluster.wait_instance("crash", states=(pb.INSTANCE_STATE_FAILED,))
    assert failed.exit_code == 3 and "3" in failed.reason


@pytest.mark.parametrize("name,kw,field", [
    ("Bad_Name", {}, "name"),
    ("", {}, "name"),
    ("ok1", {"vcpus": 0}, "spec.vcpus"),
    ("ok2", {"vcpus": -2}, "spec.vcpus"),
    ("ok3", {"memory_bytes": 0}, "spec.memory_bytes"),
    ("ok4", {"memory_bytes": 1 << 60}, "spec.memory_bytes"),
    ("ok5", {"image": ""}, "spec.image"),
    ("ok6", {"image": "UPPER CASE"}, "spec.image"),
    ("ok7", {"restart_policy": "sometimes"}, "spec.restart_policy"),
    ("ok8", {"kind": "toaster"}, "spec.kind"),
])
def test_bad_input_is_invalid_argument_naming_the_field(cluster, name, kw, field):
    before = len(cluster.instances())
    code, message = code_of(cluster, "CreateInstance",
                            public_pb2.CreateInstanceRequest(name=name, spec=spec(**kw)))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert field in message
    assert len(cluster.instances()) == before


def test_unknown_image_unknown_instance_duplicate_and_no_room(cluster):
    before = len(cluster.instances())
    code, message = code_of(cluster, "CreateInstance", public_pb2.CreateInstanceRequest(
        name="noimg", spec=spec(image="nosuch/image:1")))
    assert code == grpc.StatusCode.NOT_FOUND and "nosuch/image:1" in message
    code, _ = code_of(cluster, "GetInstance", public_pb2.GetInstanceRequest(name="never-made"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = code_of(cluster, "DeleteInstance", public_pb2.DeleteInstanceRequest(name="never-made"))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = code_of(cluster, "GetHost", public_pb2.GetHostRequest(name="no-such-host"), service="Hosts")
    assert code == grpc.StatusCode.NOT_FOUND
    code, message = code_of(cluster, "CreateInstance", public_pb2.CreateInstanceRequest(
        name="huge", spec=spec(memory_bytes=8 * 1024**4)))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "memory" in message
    create(cluster, "dup1")
    code, _ = code_of(cluster, "CreateInstance", public_pb2.CreateInstanceRequest(name="dup1", spec=spec()))
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert len(cluster.instances()) == before + 1


def test_a_retried_create_with_the_same_request_id_returns_the_same_instance(cluster):
    request = public_pb2.CreateInstanceRequest(name="idem1", spec=spec(), request_id="req-idem-1")
    first = cluster.call("Instances", "CreateInstance", request)
    again = cluster.call("Instances", "CreateInstance", request)
    assert first.meta.id == again.meta.id
