"""Host loss: a frozen host is marked down, its restart-policy instances come up on
another host with the same identity, the others stay LOST; when it returns it is
told to remove its stale copies, so nothing runs twice."""
import signal
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_harness import agent_containers  # noqa: E402
from fault_harness import ExtraAgent  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb  # noqa: E402
from tests.conftest import free_port  # noqa: E402

MiB = 1024**2


def _create(cluster, name, policy):
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                        command=["sleep", "3600"], restart_policy=policy)))


def _hosts(cluster):
    return {h.meta.name: h for h in cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts}


def test_host_loss_moves_restart_policy_instances_and_fences_the_returning_host(cluster, docker_client):
    first = cluster.aio.agent_name
    movers = [f"mover{n}" for n in range(3)]
    for name in movers:
        _create(cluster, name, "always")
    _create(cluster, "stayer", "never")
    before = {name: cluster.wait_instance(name) for name in movers + ["stayer"]}
    assert {i.host_name for i in before.values()} == {first}

    second = ExtraAgent(cluster.aio, f"{first}-b", free_port())
    second.start()
    try:
        deadline = time.monotonic() + 30
        while second.name not in _hosts(cluster):
            assert time.monotonic() < deadline, "second agent never joined"
            time.sleep(0.2)

        agent_pid = cluster.aio.pid(first)
        import os
        os.kill(agent_pid, signal.SIGSTOP)      # frozen: its containers keep running
        try:
            for name in movers:
                moved = cluster.wait_instance(name, timeout=60)
                while moved.host_name != second.name:
                    moved = cluster.wait_instance(name, timeout=60)
                    time.sleep(0.2)
                assert moved.meta.id == before[name].meta.id
                assert "rescheduled" in moved.reason or moved.reason == ""
            stayer = cluster.wait_instance("stayer", states=(pb.INSTANCE_STATE_LOST,), timeout=30)
            assert "down" in stayer.reason
        finally:
            os.kill(agent_pid, signal.SIGCONT)

        # The first host returns: its stale copies of the movers are removed.
        deadline = time.monotonic() + 60
        while True:
            mine = {c.labels["thecloud.instance-id"] for c in agent_containers(docker_client, first)
                    if c.status == "running"}
            if not mine & {i.meta.id for n, i in before.items() if n in movers}:
                break
            assert time.monotonic() < deadline, f"stale copies still run on {first}: {mine}"
            time.sleep(0.5)
        running = [c.labels["thecloud.instance-id"] for agent in (first, second.name)
                   for c in agent_containers(docker_client, agent) if c.status == "running"]
        assert len(running) == len(set(running)), "an instance runs twice"
        assert cluster.wait_instance("stayer").host_name == first   # adopted on return
    finally:
        second.stop()
        for c in agent_containers(docker_client, second.name):
            c.remove(force=True)
