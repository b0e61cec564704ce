"""Several agent "hosts" on one machine: network namespaces on an underlay, a cluster over them.

Layout (K is a random tag, so that runs sharing a machine do not collide):

    root namespace:  schedulers (API on 10.251.K.1), Docker, the tests
        veth tcuK  <->  "ulK" namespace: bridge "wire" joining every host's veth
    "tcK-<host>" namespace per host: veth "ul0" with 10.251.K.(10+i), its agent
        process (`ip netns exec`), its VPC bridges, VXLAN devices and nftables table

The underlay bridge lives in a namespace of its own rather than in the root one:
in the root namespace br_netfilter would pass the hosts' VXLAN packets through
Docker's iptables FORWARD chain, whose policy is DROP. Only addresses of these
namespaces ever receive traffic.
"""
from __future__ import annotations

import contextlib
import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cli import allinone_ports  # noqa: E402
from cli.allinone import AllInOne, Node
from cli.allinone_processes import write_atomic as _write_atomic
from cli import tomlwriter
from cli.client import ClusterClient
from common.tls import TlsFiles, issue
from proto.v1 import public_pb2, resources_pb2 as pb



def free_base_port() -> int:
    return allinone_ports.free_base_port()


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def in_netns(netns: str, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", "netns", "exec", netns, *argv], capture_output=True, text=True, check=check)


@dataclass
class Underlay:
    """The namespaces and wires; `create()` makes them, `destroy()` removes every one."""

    hosts: tuple[str, ...]
    tag: int = 0

    def __post_init__(self):
        self.tag = self.tag or random.randrange(1, 250)

    @property
    def prefix(self) -> str:
        return f"10.251.{self.tag}"

    @property
    def gateway(self) -> str:
        """The root namespace's address on the underlay (the schedulers listen there)."""
        return f"{self.prefix}.1"

    @property
    def wire(self) -> str:
        return f"ul{self.tag}"

    def netns(self, host: str) -> str:
        return f"tc{self.tag}-{host}"

    def address(self, host: str) -> str:
        return f"{self.prefix}.{10 + self.hosts.index(host)}"

    def create(self) -> None:
        ip("netns", "add", self.wire)
        in_netns(self.wire, "ip", "link", "set", "lo", "up")
        in_netns(self.wire, "ip", "link", "add", "wire", "type", "bridge")
        in_netns(self.wire, "ip", "link", "set", "wire", "up")
        self._attach("root", None, self.gateway)
        for i, host in enumerate(self.hosts):
            ip("netns", "add", self.netns(host))
            in_netns(self.netns(host), "ip", "link", "set", "lo", "up")
            self._attach(str(i), self.netns(host), self.address(host))

    def _attach(self, port: str, netns: str | None, address: str) -> None:
        """A veth from `netns` (None: the root namespace) to the wire, `address` on its near end."""
        near, far = f"tcu{self.tag}" if netns is None else f"tcu{self.tag}-{port}", f"tcw{self.tag}-{port}"
        ip("link", "add", near, "type", "veth", "peer", "name", far)
        ip("link", "set", far, "netns", self.wire)
        in_netns(self.wire, "ip", "link", "set", far, "master", "wire", "up")
        if netns is None:
            ip("addr", "add", f"{address}/24", "dev", near)
            ip("link", "set", near, "up")
            return
        ip("link", "set", near, "netns", netns)
        in_netns(netns, "ip", "link", "set", near, "name", "ul0")
        in_netns(netns, "ip", "addr", "add", f"{address}/24", "dev", "ul0")
        in_netns(netns, "ip", "link", "set", "ul0", "up")

    def destroy(self) -> None:
        for host in self.hosts:
            ip("netns", "del", self.netns(host), check=False)
        ip("link", "del", f"tcu{self.tag}", check=False)
        ip("netns", "del", self.wire, check=False)


class VpcCluster(AllInOne):
    """The all-in-one's schedulers on the underlay address, one agent per host namespace."""

    def __init__(self, home: Path, underlay: Underlay, agent_overrides: dict | None = None):
        base = free_base_port()
        super().__init__(home, base, agent_overrides={"capacity_vcpus": 64, **(agent_overrides or {})})
        self.underlay = underlay
        self.schedulers = [Node(n.name, n.role, f"{underlay.gateway}:{n.api.rsplit(':', 1)[1]}", n.raft)
                           for n in self.schedulers]
        self.agents = [Node(f"{host}-{base}", "agent", f"{underlay.address(host)}:{base + 200 + i}")
                       for i, host in enumerate(underlay.hosts)]
        self.agent = self.agents[0]
        self.nodes = {node.name: node for node in [*self.schedulers, *self.agents]}
        self.host_of = {node.name: host for node, host in zip(self.agents, underlay.hosts)}

    def prepare(self) -> None:
        super().prepare()
        ca = self.ca_dir
        for node in [*self.schedulers, *self.agents]:
            issue(ca, self.tls_dir, node.name, node.role,
                  ["127.0.0.1", "localhost", node.api.rsplit(":", 1)[0]])
        for node in self.agents:
            doc = {"name": node.name, "listen": node.api, "schedulers": self.endpoints,
                   "data_dir": self.data_path(node.name), "tls_dir": self.tls_dir,
                   "compute_driver": self.compute_driver, "labels": {"vpc-host": self.host_of[node.name]},
                   **self.agent_overrides}
            _write_atomic(self.config_path(node.name), tomlwriter.dumps(doc))

    def command(self, name: str) -> list[str]:
        argv = super().command(name)
        if name in self.host_of:
            return ["ip", "netns", "exec", self.underlay.netns(self.host_of[name]), *argv]
        return argv

    def wait_hosts(self, timeout: float = 60.0) -> None:
        """Until every agent has joined, is UP and has told its VTEP."""
        names = {node.name for node in self.agents}
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    hosts = client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts
                    ready = {h.meta.name for h in hosts if h.state == pb.HOST_STATE_UP and h.vtep}
                    if names <= ready:
                        return
                time.sleep(0.3)
        raise AssertionError(f"hosts did not all join with a VTEP: {self._report('timeout', list(names))}")


@contextlib.contextmanager
def vpc_cluster(home: Path, docker_client, hosts=("host-a", "host-b")):
    """Namespaces, underlay, cluster; everything removed afterwards (containers too)."""
    underlay = Underlay(tuple(hosts))
    underlay.create()
    cluster = VpcCluster(home, underlay)
    try:
        cluster.up(wait=True)
        cluster.wait_hosts()
        cluster.api = ClusterClient(cluster.endpoints, TlsFiles.in_dir(home / "tls", "admin"))
        yield cluster
        cluster.api.close()
    finally:
        cluster.down()
        for node in cluster.agents:
            for container in docker_client.containers.list(
                    all=True, filters={"label": [f"thecloud.agent={node.name}"]}):
                container.remove(force=True)
        underlay.destroy()
