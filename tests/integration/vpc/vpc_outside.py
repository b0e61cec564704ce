"""The outside world for egress NAT and floating IPs: a namespace on the underlay wire.

It sits beside the agent hosts on the underlay bridge (vpc_harness.Underlay) with
the address <prefix>.5, runs a TCP server that answers every connection with the
address it came from (so a test sees what the outside sees), and can connect to
an address of the underlay (a floating IP). The cluster is the one of
vpc_harness, with a floating IP pool on the underlay: <prefix>.200/29.
"""
from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.client import ClusterClient
from common.tls import TlsFiles
from vpc_harness import Underlay, VpcCluster, empty, in_netns, ip, sh

ECHO_PORT = 7777

# Answers "<peer address>\n" to every connection, forever.
ECHO_SERVER = f"""
import socket
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", {ECHO_PORT}))
server.listen(64)
while True:
    conn, peer = server.accept()
    conn.sendall((peer[0] + "\\n").encode())
    conn.close()
"""

# Sends an HTTP GET to argv[1]:argv[2] and prints the body; exit 1 when nothing came back.
HTTP_GET = """
import socket, sys
try:
    conn = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))
    conn.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
    data = b""
    while chunk := conn.recv(4096):
        data += chunk
except OSError as err:
    print(err, file=sys.stderr)
    sys.exit(1)
body = data.replace(b"\\r\\n", b"\\n").partition(b"\\n\\n")[2]
sys.stdout.write(body.decode())
sys.exit(0 if body else 1)
"""


class Outside:
    """The "outside" namespace on the underlay and its echo server."""

    def __init__(self, underlay: Underlay):
        self.underlay = underlay
        self.netns = f"tc{underlay.tag}-out"
        self.address = f"{underlay.prefix}.5"
        self.server: subprocess.Popen | None = None

    @property
    def pool(self) -> str:
        return f"{self.underlay.prefix}.200/29"

    def create(self) -> None:
        ip("netns", "add", self.netns)
        in_netns(self.netns, "ip", "link", "set", "lo", "up")
        self.underlay._attach("out", self.netns, self.address)
        self.server = subprocess.Popen(["ip", "netns", "exec", self.netns, sys.executable, "-c", ECHO_SERVER])

    def destroy(self) -> None:
        if self.server is not None:
            self.server.kill()
            self.server.wait()
        ip("netns", "del", self.netns, check=False)

    def http_get(self, address: str, port: int = 80, timeout: float = 2.0) -> tuple[int, str]:
        """(exit code, body) of a GET from the outside to `address`."""
        result = in_netns(self.netns, sys.executable, "-c", HTTP_GET, address, str(port), str(timeout),
                          check=False)
        return result.returncode, result.stdout


@contextlib.contextmanager
def outside_cluster(home: Path, docker_client, hosts=("host-a", "host-b")):
    """vpc_harness.vpc_cluster plus the outside namespace and a floating IP pool."""
    underlay = Underlay(tuple(hosts))
    underlay.create()
    outside = Outside(underlay)
    cluster = VpcCluster(home, underlay)
    cluster.scheduler_overrides["floating_ip_pool"] = outside.pool
    try:
        outside.create()
        cluster.up(wait=True)
        cluster.wait_hosts()
        cluster.api = ClusterClient(cluster.endpoints, TlsFiles.in_dir(home / "tls", "admin"))
        cluster.outside = outside
        cluster.docker = docker_client
        yield cluster
        cluster.api.close()
    finally:
        cluster.down()
        for node in cluster.agents:
            for container in docker_client.containers.list(
                    all=True, filters={"label": [f"thecloud.agent={node.name}"]}):
                container.remove(force=True)
        outside.destroy()
        underlay.destroy()


@pytest.fixture(scope="session")
def nat_cluster(tmp_path_factory, docker_client, busybox_image, netns_capable):
    """One cluster for the NAT, floating IP and anti-spoofing tests."""
    with outside_cluster(tmp_path_factory.mktemp("vpcnat"), docker_client) as cluster:
        yield cluster


@pytest.fixture
def nat_cloud(nat_cluster):
    """That cluster, empty: a test makes every VPC, instance and floating IP it uses,
    and leaves nothing for the next one (the pool's addresses, NAT tables)."""
    empty(nat_cluster)
    yield nat_cluster
    empty(nat_cluster)


def echo_from(cluster, name: str, timeout: int = 3) -> tuple[int, str]:
    """(exit code, what the outside saw as the source) of a connection from instance `name`."""
    return sh(cluster, name, "nc", "-w", str(timeout), cluster.outside.address, str(ECHO_PORT))


def nat_state(cluster, host: str) -> tuple[str, str]:
    """(nft tables, IPv4 addresses) of a host namespace."""
    netns = cluster.underlay.netns(host)
    return (in_netns(netns, "nft", "list", "tables").stdout,
            in_netns(netns, "ip", "-4", "-o", "addr", "show").stdout)


def wait_for(check, timeout: float = 30.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout}s")
        time.sleep(0.2)
