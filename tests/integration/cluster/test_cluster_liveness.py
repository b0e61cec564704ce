"""Host liveness: an agent that stops heartbeating is marked down after the TTL,
its instances LOST; when it comes back the host is up and they are adopted."""
import signal
import time

import pytest

from cluster_harness import running_cluster
from proto.v1 import public_pb2, resources_pb2 as pb

TTL = 2.0


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("aio-ttl"), docker_client,
                         scheduler_overrides={"host_down_after": TTL}) as cluster:
        yield cluster


def host_state(cluster):
    return cluster.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=cluster.aio.agent_name))


def test_silent_host_goes_down_and_comes_back(cluster, docker_client):
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name="pet", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1,
                                         memory_bytes=16 * 1024**2, command=["sleep", "3600"])))
    before = cluster.wait_instance("pet")

    cluster.aio.stop_node(cluster.aio.agent_name, signal.SIGKILL)
    silenced = time.monotonic()
    deadline = silenced + TTL + 15
    while host_state(cluster).state != pb.HOST_STATE_DOWN:
        assert time.monotonic() < deadline, "host never marked down"
        time.sleep(0.2)
    assert time.monotonic() - silenced >= TTL * 0.9   # not before the TTL
    host = host_state(cluster)
    assert "no heartbeat" in host.reason
    lost = cluster.wait_instance("pet", states=(pb.INSTANCE_STATE_LOST,), timeout=10)
    assert "down" in lost.reason

    cluster.aio.start_node(cluster.aio.agent_name)
    deadline = time.monotonic() + 30
    while host_state(cluster).state != pb.HOST_STATE_UP:
        assert time.monotonic() < deadline, "host never came back"
        time.sleep(0.2)
    after = cluster.wait_instance("pet")
    assert after.runtime_id == before.runtime_id   # adopted, not recreated
