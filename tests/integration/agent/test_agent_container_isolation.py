"""Finding 9: tenant containers are confined, against the real Docker Engine.

No network without a subnet (the host's ports, reachable from Docker's default bridge,
are not), a reduced capability set, no privilege gain, a pids limit that stops a fork
bomb while the host and its other instances carry on; and (finding 7) the spec-hash
label is keyed, so it cannot confirm a guessed secret.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
import urllib.request
from pathlib import Path

import pytest

from agent.compute.base import InstanceSpec
from agent.compute.docker import CAPABILITIES, confinement_gap, disk_limits_supported
from common.grpcserve import make_server
from proto.v1 import agent_pb2, node_pb2_grpc
from tests.conftest import BUSYBOX_IMAGE, free_port
from tests.integration.agent.agent_calls import (MiB, State, container_of, ensure,
                                                 new_instance_id, wait_for)
from tests.integration.agent.test_agent_daemon_heartbeat import RecordingNode

CAP_NUMBERS = {"CHOWN": 0, "DAC_OVERRIDE": 1, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6,
               "SETUID": 7, "NET_BIND_SERVICE": 10, "NET_RAW": 13}
GET = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port}"


def _status(container) -> dict[str, str]:
    code, out = container.exec_run(["cat", "/proc/1/status"])
    assert code == 0, out
    return dict(line.split(":\t", 1) for line in out.decode().splitlines() if ":\t" in line)


def _http(container, host: str, port: int) -> bytes:
    return container.exec_run(["sh", "-c", GET.format(host=host, port=port)]).output


def _bridge_gateway(docker_client) -> str:
    """The host's address on Docker's default bridge (docker0)."""
    ipam = docker_client.networks.get("bridge").attrs["IPAM"]["Config"][0]
    return ipam.get("Gateway") or str(next(ipaddress.ip_network(ipam["Subnet"]).hosts()))


def test_a_container_has_only_lo_few_capabilities_no_privilege_gain_and_a_pids_limit(
        start_agent, docker_client):
    agent = start_agent(container_pids_limit=200)
    stub = agent.stub()
    iid = new_instance_id()
    observed = stub.EnsureInstance(ensure(iid, disk=256 * MiB))
    assert observed.state == State.INSTANCE_STATE_RUNNING, observed.reason
    container = container_of(docker_client, iid)
    host_config = container.attrs["HostConfig"]
    assert host_config["NetworkMode"] == "none"
    assert host_config["CapDrop"] == ["ALL"]
    assert {c.removeprefix("CAP_") for c in host_config["CapAdd"]} == set(CAPABILITIES)
    assert host_config["SecurityOpt"] == ["no-new-privileges"]
    assert host_config["PidsLimit"] == 200
    if disk_limits_supported(docker_client.info()):
        assert host_config["StorageOpt"] == {"size": str(256 * MiB)}
    else:      # overlay2 on ext4 here: nothing Docker could enforce is asked of it
        assert not host_config.get("StorageOpt")

    # What the kernel says of the running process, not only what Docker recorded.
    status = _status(container)
    assert int(status["CapBnd"], 16) == sum(1 << CAP_NUMBERS[c] for c in CAPABILITIES)
    assert status["NoNewPrivs"].strip() == "1"
    code, links = container.exec_run(["cat", "/proc/net/dev"])
    assert [line.split(":")[0].strip() for line in links.decode().splitlines()[2:]] == ["lo"]
    # The busybox applets the tests rely on still work: httpd answers, ping has NET_RAW.
    assert wait_for(lambda: _http(container, "127.0.0.1", 8080).startswith(b"HTTP/1."), timeout=10)
    assert container.exec_run(["ping", "-c", "1", "-W", "2", "127.0.0.1"]).exit_code == 0
    # What the dropped capabilities allowed is refused.
    assert container.exec_run(["mknod", "/tmp/null", "c", "1", "3"]).exit_code != 0
    assert container.exec_run(["chroot", "/", "true"]).exit_code != 0


def test_a_container_without_a_subnet_cannot_reach_the_hosts_metrics_port(start_agent, docker_client):
    metrics_port = free_port()
    agent = start_agent(metrics_listen=f"0.0.0.0:{metrics_port}")
    gateway = _bridge_gateway(docker_client)
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    assert wait_for(lambda: _metrics_answer(url), timeout=10), agent.log()
    # The hole: a container on Docker's default bridge reaches the host's ports.
    on_bridge = docker_client.containers.run(
        BUSYBOX_IMAGE, ["sh", "-c", GET.format(host=gateway, port=metrics_port)], detach=True)
    try:
        on_bridge.wait(timeout=30)
        assert on_bridge.logs().startswith(b"HTTP/1."), on_bridge.logs()
    finally:
        on_bridge.remove(force=True)
    # An instance of the agent does not.
    iid = new_instance_id()
    assert agent.stub().EnsureInstance(ensure(iid)).state == State.INSTANCE_STATE_RUNNING
    container = container_of(docker_client, iid)
    code, out = container.exec_run(["sh", "-c", GET.format(host=gateway, port=metrics_port)])
    assert not out.startswith(b"HTTP/1.") and b"unreachable" in out, out


def _metrics_answer(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@pytest.fixture
def scheduler(scheduler_tls):
    node = RecordingNode()
    address = f"127.0.0.1:{free_port()}"
    server = make_server(address, scheduler_tls, max_workers=4)
    node_pb2_grpc.add_NodeServicer_to_server(node, server)
    server.start()
    node.address = address
    yield node
    server.stop(0).wait()


BOMB = "f(){ f|f& }; f"


def _pids_cgroup(pid: int) -> Path:
    """The pids cgroup directory of process `pid` (cgroup v1 or v2)."""
    unified = None
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        hierarchy, controllers, path = line.split(":", 2)
        if "pids" in controllers.split(","):
            return Path("/sys/fs/cgroup/pids") / path.lstrip("/")
        if hierarchy == "0" and not controllers:
            unified = Path("/sys/fs/cgroup") / path.lstrip("/")
    assert unified is not None, f"process {pid} is in no pids cgroup"
    return unified


def _refused_forks(cgroup: Path) -> int:
    events = dict(line.split() for line in (cgroup / "pids.events").read_text().splitlines())
    return int(events.get("max", 0))


def test_a_fork_bomb_stops_at_its_pids_limit_and_the_host_carries_on(start_agent, docker_client, scheduler):
    limit = 64
    agent = start_agent(schedulers=[scheduler.address], container_pids_limit=limit)
    stub = agent.stub()
    assert wait_for(lambda: scheduler.heartbeats, timeout=15), agent.log()
    web, bomb, late = new_instance_id(), new_instance_id(), new_instance_id()
    assert stub.EnsureInstance(ensure(web)).state == State.INSTANCE_STATE_RUNNING
    web_container = container_of(docker_client, web)
    assert wait_for(lambda: _http(web_container, "127.0.0.1", 8080).startswith(b"HTTP/1."), timeout=10)
    # A bomb dies out once every fork fails; busybox's `watch` (which survives a failed
    # fork) sets it off again every second, as a determined tenant would.
    observed = stub.EnsureInstance(ensure(bomb, name="bomb", command=["watch", "-n", "1", "-t", BOMB]))
    assert observed.state == State.INSTANCE_STATE_RUNNING, observed.reason
    bomb_container = container_of(docker_client, bomb)
    cgroup = _pids_cgroup(bomb_container.attrs["State"]["Pid"])
    assert int((cgroup / "pids.max").read_text()) == limit
    try:
        assert wait_for(lambda: _refused_forks(cgroup) > 0, timeout=60, interval=0.2), \
            bomb_container.logs(tail=20)
        beats_before, refused_before = len(scheduler.heartbeats), _refused_forks(cgroup)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert int((cgroup / "pids.current").read_text()) <= limit
            # The other instance answers; the agent serves.
            assert _http(web_container, "127.0.0.1", 8080).startswith(b"HTTP/1.")
            assert stub.GetInfo(agent_pb2.GetAgentInfoRequest(), timeout=10).host_name == agent.name
            time.sleep(0.2)
        assert _refused_forks(cgroup) > refused_before        # the bomb kept hitting the limit
        assert stub.EnsureInstance(ensure(late, command=["sleep", "600"]),
                                   timeout=60).state == State.INSTANCE_STATE_RUNNING
        # Heartbeats kept coming (every 0.2 s asked; a loaded machine is slower, never silent).
        assert len(scheduler.heartbeats) >= beats_before + 5, (beats_before, len(scheduler.heartbeats))
    finally:
        stub.RemoveInstance(agent_pb2.RemoveInstanceRequest(
            fence=agent_pb2.Fence(term=1), instance_id=bomb), timeout=60)
    assert {i.instance_id for i in stub.ListInstances(agent_pb2.ListAgentInstancesRequest()).instances} \
        == {web, late}


def test_the_spec_hash_label_is_keyed_and_the_key_survives_a_restart(start_agent, docker_client):
    agent = start_agent()
    iid = new_instance_id()
    request = ensure(iid, env={"DB_PASSWORD": "hunter2"})
    request.host_spec.env_from_secrets = True           # the leader filled env from a secret
    first = agent.stub().EnsureInstance(request)
    label = container_of(docker_client, iid).labels["thecloud.spec-hash"]
    spec = InstanceSpec.from_proto(request.host_spec)
    # Not the unkeyed digest an offline guess of the password could be checked against...
    assert label != hashlib.sha256(spec._canonical()).hexdigest()[:16]
    # ...but an HMAC under the agent's own key, kept 0600 in its data dir.
    key_file = agent.config_path.parent / "data" / "spec-hash.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert label == hmac.new(key_file.read_bytes(), spec._canonical(), hashlib.sha256).hexdigest()[:16]
    agent.kill()
    again = agent.start().stub().EnsureInstance(request)
    assert again.runtime_id == first.runtime_id        # the same key: adopted, not recreated


def test_a_container_an_older_agent_made_is_recreated_confined(start_agent, docker_client):
    """After the upgrade: the old agent's container (default bridge, default capabilities,
    the unkeyed hash) cannot be confined in place, so the first ensure replaces it."""
    agent = start_agent()
    iid = new_instance_id()
    request = ensure(iid, command=["sleep", "600"])
    old = docker_client.containers.run(
        BUSYBOX_IMAGE, ["sleep", "600"], name=f"thecloud-{agent.name}-{iid}", detach=True, init=True,
        labels={"thecloud.instance-id": iid, "thecloud.agent": agent.name, "thecloud.name": "web",
                "thecloud.project": "default",
                "thecloud.spec-hash": InstanceSpec.from_proto(request.host_spec).legacy_spec_hash()})
    assert confinement_gap(old.attrs["HostConfig"])
    observed = agent.stub().EnsureInstance(request)
    assert observed.state == State.INSTANCE_STATE_RUNNING, observed.reason
    assert observed.runtime_id != old.id
    assert confinement_gap(container_of(docker_client, iid).attrs["HostConfig"]) == ""
    assert f"container of {iid} is not confined" in agent.log()
