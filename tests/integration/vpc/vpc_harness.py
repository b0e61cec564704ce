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

import pytest

from cli import allinone_ports  # noqa: E402
from cli.allinone import AllInOne, Node
from cli.allinone_processes import write_atomic as _write_atomic
from cli import tomlwriter
from cli.client import ClusterClient
from cli.errors import RpcFailure
from common.tls import TlsFiles, issue
from proto.v1 import floating_pb2 as fpb
from proto.v1 import networks_pb2 as npb
from proto.v1 import public_pb2, resources_pb2 as pb

MiB = 1024**2
IMAGE = "thecloud/busybox:test"


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


# -- calls the tests make ------------------------------------------------------------

def call(cluster, service, method, request):
    return cluster.api.call(service, method, request, write=True)


def net(cluster, method, request):
    return call(cluster, "Networks", method, request)


def serve(text: str, *ports: int) -> list[str]:
    """A command: httpd on each port answering `text` (httpd on 22 stands in for ssh)."""
    daemons = " ; ".join(f"httpd -p {p} -h /tmp/w" for p in ports)
    return ["sh", "-c", f"mkdir -p /tmp/w && echo {text} > /tmp/w/index.html && {daemons} ; sleep 3600"]


def create(cluster, name, host, subnet, command=("sleep", "3600"), **port):
    spec = pb.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=32 * MiB, command=list(command),
                           subnet=subnet, host_labels={"vpc-host": host}, **port)
    return call(cluster, "Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name=name, spec=spec))


def wait_running(cluster, name, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inst = cluster.api.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
        if inst.state == pb.INSTANCE_STATE_RUNNING and inst.runtime_id:
            return inst
        time.sleep(0.2)
    raise AssertionError(f"{name} is not running: {inst}")


def sh(cluster, name, *argv):
    inst = cluster.api.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
    result = cluster.docker.containers.get(inst.runtime_id).exec_run(list(argv))
    return result.exit_code, result.output.decode(errors="replace")


def wait_nic(cluster, name, timeout=30):
    """Until the instance's eth0 has its port's address (plugged by its host's agent)."""
    inst = wait_running(cluster, name)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code, out = sh(cluster, name, "ip", "-4", "addr", "show", "dev", "eth0")
        if code == 0 and f"{inst.port.ip}/{inst.port.prefix_len}" in out:
            return inst
        time.sleep(0.2)
    raise AssertionError(f"{name} has no NIC with {inst.port.ip}: {out}")


def fetch(cluster, name, address, port=80, timeout=2):
    """(exit code, body) of an HTTP GET from inside instance `name` (busybox nc; its wget crashes)."""
    request = "printf 'GET / HTTP/1.0\\r\\n\\r\\n'"
    code, out = sh(cluster, name, "sh", "-c", f"{request} | nc -w {timeout} {address} {port}")
    body = out.replace("\r\n", "\n").partition("\n\n")[2]
    return (code if body or code else 1), body


def eventually(check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        start = time.monotonic()
        if check():
            return start
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def links(cluster, host):
    out = ip("-n", cluster.underlay.netns(host), "-o", "link", "show").stdout
    return {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}


def code_of(fn, *args):
    with pytest.raises(RpcFailure) as err:
        fn(*args)
    return err.value.code, str(err.value)


def instance_names(cluster) -> set[str]:
    return {i.meta.name for i in cluster.api.call(
        "Instances", "ListInstances", public_pb2.ListInstancesRequest(page_size=1000)).instances}


def host_clean(cluster, host: str) -> bool:
    """No VPC bridge, VXLAN device or port and no thecloud nftables table on `host`."""
    ours = {name for name in links(cluster, host) if name.startswith(("tcb-", "tcx-", "tcv"))}
    tables = in_netns(cluster.underlay.netns(host), "nft", "list", "tables").stdout
    return not ours and "thecloud" not in tables


# -- one test's cluster is empty for the next -----------------------------------------

def empty(cluster, timeout: float = 60.0) -> None:
    """Delete every floating IP, instance, security group and VPC, and wait until no
    host has anything of them left: each test starts from an empty cluster, whatever
    ran before it and however it ended."""
    listing = dict(page_size=1000)
    for fip in cluster.api.call("FloatingIps", "ListFloatingIps", fpb.ListFloatingIpsRequest(**listing)).floating_ips:
        if fip.instance:
            call(cluster, "FloatingIps", "DetachFloatingIp", fpb.FloatingIpRef(address=fip.address))
        call(cluster, "FloatingIps", "DeleteFloatingIp", fpb.FloatingIpRef(address=fip.address))
    for name in instance_names(cluster):
        call(cluster, "Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))
    eventually(lambda: not instance_names(cluster), timeout)
    groups = [g.meta.name for g in cluster.api.call(
        "Networks", "ListSecurityGroups", npb.ListNetworkRequest(**listing)).security_groups]
    while groups:       # a group named by another's remote_group rule goes after that one
        left = []
        for group in groups:
            try:
                net(cluster, "DeleteSecurityGroup", npb.NetworkRef(name=group))
            except RpcFailure:
                left.append(group)
        if left == groups:
            raise AssertionError(f"security groups {left} cannot be deleted")
        groups = left
    for vpc in cluster.api.call("Networks", "ListVpcs", npb.ListNetworkRequest(**listing)).vpcs:
        net(cluster, "DeleteVpc", npb.NetworkRef(name=vpc.meta.name))
    assert not cluster.api.call("Networks", "ListSubnets", npb.ListNetworkRequest(**listing)).subnets
    eventually(lambda: all(host_clean(cluster, h) for h in cluster.underlay.hosts), timeout)
