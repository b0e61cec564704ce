"""A host that heartbeats but whose agent the leader cannot reach is shown unhealthy,
backed off alone and kept out of placement; the rest of the fleet moves on, and the
host is healthy again once its agent answers.

The fault is real: an nftables rule on loopback drops every packet to the agent's
gRPC port, so the agent's own heartbeats (it calls the schedulers) still arrive
while every call to it hangs until its deadline."""
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_harness import agent_containers, running_cluster  # noqa: E402
from fault_harness import ExtraAgent  # noqa: E402
from proto.v1 import placement_pb2, public_pb2, resources_pb2 as pb  # noqa: E402
from tests.conftest import engine_missing, free_port  # noqa: E402

MiB = 1024**2
TABLE = f"thecloud_test_unreach_{os.getpid()}"


def _nft(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(["nft", "-f", "-"], input=script, capture_output=True, text=True, timeout=30)


class Blocked:
    """Drop packets to one loopback TCP port (scheduler → agent calls), in our own table."""

    def __init__(self, port: int):
        self.port = port

    def __enter__(self):
        done = _nft(f"table inet {TABLE} {{\n\tchain output {{\n"
                    "\t\ttype filter hook output priority filter; policy accept;\n"
                    f"\t\toif \"lo\" tcp dport {self.port} drop\n\t}}\n}}\n")
        if done.returncode != 0:
            engine_missing(f"nftables refused a rule: {done.stderr.strip()}")
        return self

    def __exit__(self, *exc):
        _nft(f"delete table inet {TABLE}\n")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    with running_cluster(tmp_path_factory.mktemp("aio-unreach"), docker_client,
                         scheduler_overrides={"agent_call_timeout": 2.0}) as cluster:
        yield cluster


def _host(cluster, name):
    return cluster.call("Hosts", "GetHost", public_pb2.GetHostRequest(name=name))


def _wait_until(what, check, timeout):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out after {timeout:g}s waiting for {what}"
        time.sleep(0.3)


def test_an_unreachable_agent_is_unhealthy_kept_out_of_placement_and_recovers(cluster, docker_client):
    first = cluster.aio.agent_name
    cut = ExtraAgent(cluster.aio, f"{first}-cut", free_port())
    cut.start()
    try:
        _wait_until("the second agent to join", lambda: _host_up(cluster, cut.name), timeout=60)
        with Blocked(cut.port):
            sick = _wait_until("the cut-off host to be marked unhealthy",
                               lambda: (lambda h: h if h.unhealthy else None)(_host(cluster, cut.name)), timeout=90)
            assert sick.state == pb.HOST_STATE_UP, "its heartbeats still arrive: it is not down"
            assert "DEADLINE_EXCEEDED" in sick.unhealthy or "UNAVAILABLE" in sick.unhealthy, sick.unhealthy
            # New instances go to the healthy host and run there.
            for n in range(4):
                cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                    name=f"ur-{n}", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1,
                                                         memory_bytes=8 * MiB, command=["sleep", "3600"])))
            for n in range(4):
                running = cluster.wait_instance(f"ur-{n}", timeout=90)
                assert running.host_name == first
            # A placement pinned to the sick host says why it cannot go there.
            cluster.call("Placement", "SetHostLabels", placement_pb2.SetHostLabelsRequest(
                name=cut.name, labels={"fault": "cut"}))
            why = cluster.call("Placement", "ExplainPlacement", public_pb2.CreateInstanceRequest(
                name="ur-pinned", spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                                       command=["sleep", "3600"], constraints=["fault=cut"])))
            assert not why.placed and why.rejected.get("unhealthy") == 1, why
            assert _host(cluster, cut.name).unhealthy
        # The rule is gone: the next visit after its backoff clears the mark.
        _wait_until("the host to be healthy again", lambda: not _host(cluster, cut.name).unhealthy, timeout=90)
        assert _host(cluster, cut.name).state == pb.HOST_STATE_UP
    finally:
        cut.stop()
        for agent in (first, cut.name):
            for c in agent_containers(docker_client, agent):
                if c.name.split("-")[-1].startswith("ur") or agent == cut.name:
                    c.remove(force=True)
        for n in range(4):
            try:
                cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=f"ur-{n}"))
            except Exception:  # noqa: BLE001 - best-effort cleanup
                pass


def _host_up(cluster, name):
    try:
        return _host(cluster, name).state == pb.HOST_STATE_UP
    except Exception:  # noqa: BLE001 - not joined yet
        return False
