"""A stuck agent does not stall the fleet: three real agents, one frozen with SIGSTOP
(its process is alive but answers nothing: every call to it hangs until its
deadline) while creates go to the whole fleet.

The host TTL here is long (30 s) on purpose: for that whole window the stuck host
still counts as up, the reconciler keeps calling it and each call hangs until the
agent-call deadline (30 s, the default). Instances placed on the two healthy hosts
must nevertheless reach RUNNING inside that window — so they cannot have been
waiting for the stuck host to be declared down. Then the stuck host is marked down
with the reason, and after SIGCONT it comes back and runs what was placed on it."""
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_harness import agent_containers, running_cluster  # noqa: E402
from fault_harness import ExtraAgent  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb  # noqa: E402
from tests.conftest import free_port  # noqa: E402

MiB = 1024**2
TTL = 30.0
INSTANCES = 9


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("aio-stuck"), docker_client,
                         scheduler_overrides={"host_down_after": TTL}) as cluster:
        yield cluster


def _hosts(cluster):
    return {h.meta.name: h for h in cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts}


def _instances(cluster, prefix):
    return {i.meta.name: i for i in cluster.instances() if i.meta.name.startswith(prefix)}


def _wait_until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        time.sleep(0.3)


def test_a_stuck_agent_does_not_stall_the_others_and_recovers(cluster, docker_client):
    first = cluster.aio.agent_name
    extras = [ExtraAgent(cluster.aio, f"{first}-{tag}", free_port()) for tag in ("b", "stuck")]
    healthy_extra, stuck = extras
    for agent in extras:
        agent.start()
    stopped = False
    try:
        _wait_until("every agent to join", lambda: all(
            a.name in _hosts(cluster) and _hosts(cluster)[a.name].state == pb.HOST_STATE_UP for a in extras),
            timeout=60)
        os.kill(stuck.proc.pid, signal.SIGSTOP)
        stopped = True
        frozen_at = time.monotonic()
        for n in range(INSTANCES):
            cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name=f"st-{n}", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                                     command=["sleep", "3600"])))
        placed = _instances(cluster, "st-")
        healthy = {n for n, i in placed.items() if i.host_name != stuck.name}
        on_stuck = set(placed) - healthy
        assert healthy, "placement put every instance on the stuck host"

        # The healthy hosts' instances run while the stuck host still counts as up.
        _wait_until("the healthy hosts' instances to run", lambda: all(
            i.state == pb.INSTANCE_STATE_RUNNING for n, i in _instances(cluster, "st-").items() if n in healthy),
            timeout=TTL * 0.8)
        if time.monotonic() - frozen_at < TTL - 3:     # (the wait's timeout makes this the rule)
            assert _hosts(cluster)[stuck.name].state == pb.HOST_STATE_UP
            now = _instances(cluster, "st-")
            assert all(now[name].state == pb.INSTANCE_STATE_PENDING for name in on_stuck)

        # The stuck host is marked down with the reason; what was placed on it is LOST.
        down = _wait_until("the stuck host to be marked down", lambda: (
            lambda h: h if h.state == pb.HOST_STATE_DOWN else None)(_hosts(cluster)[stuck.name]), timeout=TTL + 60)
        assert "no heartbeat" in down.reason
        for name in on_stuck:
            lost = cluster.wait_instance(name, states=(pb.INSTANCE_STATE_LOST,), timeout=30)
            assert "down" in lost.reason
        # The fleet keeps taking creates meanwhile.
        cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="st-late", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                                 command=["sleep", "3600"])))
        assert cluster.wait_instance("st-late", timeout=60).host_name != stuck.name

        # It comes back and runs what was placed on it.
        os.kill(stuck.proc.pid, signal.SIGCONT)
        stopped = False
        _wait_until("the stuck host to come back", lambda: _hosts(cluster)[stuck.name].state == pb.HOST_STATE_UP,
                    timeout=60)
        for name in on_stuck:
            back = cluster.wait_instance(name, timeout=90)
            assert back.host_name == stuck.name
        running = [c.labels["thecloud.instance-id"] for agent in [first] + [a.name for a in extras]
                   for c in agent_containers(docker_client, agent) if c.status == "running"]
        assert len(running) == len(set(running)), "an instance runs twice"
    finally:
        if stopped:
            os.kill(stuck.proc.pid, signal.SIGCONT)
        for agent in extras:
            agent.stop()
            for c in agent_containers(docker_client, agent.name):
                c.remove(force=True)
