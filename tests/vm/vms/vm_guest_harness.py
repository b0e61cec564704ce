"""Helpers for the VM NIC and secret-file tests: a VM cluster with the test guest
imported, a VPC whose VNI (and so bridge name) no concurrent test uses, links in
the root network namespace, and a search of files for a secret's plaintext."""
from __future__ import annotations

import contextlib
import os
import subprocess
import time
from pathlib import Path

from proto.v1 import networks_pb2, public_pb2
from tests.conftest import engine_missing
from tests.vm.vms.vm_harness import import_guest, vm_cluster


@contextlib.contextmanager
def guest_cluster(home: Path, docker_client, guest: Path):
    """(cluster, vm_dir) of an all-in-one cluster that runs containers and VMs, with
    VPC networking in the root namespace (where libvirtd's qemu puts its taps), and
    the test guest imported as image `guest`."""
    if os.geteuid() != 0:
        engine_missing("VM NICs need root: the agent makes bridges and libvirt makes taps")
    with vm_cluster(home, docker_client) as (cluster, directory), \
            _network_removed_after(cluster.aio.agent_name):
        host = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts[0]
        if not host.vtep:
            engine_missing("the agent runs no VPC network driver here (no VTEP); see its log")
        # no_timer_check: TCG on a loaded machine can fail the kernel's
        # early IO-APIC timer check and panic before the guest starts.
        import_guest(cluster, guest, "console=ttyS0 no_timer_check")
        yield cluster, directory


@contextlib.contextmanager
def _network_removed_after(agent_name: str):
    try:
        yield
    finally:
        remove_agent_network(agent_name)


def remove_agent_network(agent_name: str) -> None:
    """What the agent's network driver left in the root namespace when its cluster
    stopped with ports still up (a failed test): its links, known by their alias, and
    its nftables tables (any family)."""
    from agent.network.linuxbridge import table_name

    alias = f"thecloud:{agent_name}"
    listing = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    for line in listing.splitlines():
        if line.rstrip().endswith(f"alias {alias}"):
            name = line.split(": ", 2)[1].split("@")[0]
            subprocess.run(["ip", "link", "del", name], capture_output=True)
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    for line in tables.splitlines():
        words = line.split()
        if len(words) == 3 and words[2] == table_name(agent_name):
            subprocess.run(["nft", "delete", "table", words[1], words[2]], capture_output=True)


def link(name: str) -> dict | None:
    """{"mtu", "master", "up"} of a link in the root namespace, None when absent."""
    proc = subprocess.run(["ip", "-o", "link", "show", "dev", name], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    words = proc.stdout.split()
    value = lambda key: words[words.index(key) + 1] if key in words else ""   # noqa: E731
    return {"mtu": int(value("mtu") or 0), "master": value("master"),
            "up": "UP" in proc.stdout.split("<", 1)[1].split(">", 1)[0].split(",")}


def wait_for(what: str, check, timeout: float = 60.0, every: float = 0.5):
    """check()'s first truthy value; AssertionError naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def private_vpc(cluster, name: str, cidr: str, subnet: str, subnet_cidr: str) -> networks_pb2.Vpc:
    """A VPC (and subnet) whose VNI no other test here is likely to hold: VNIs are the
    lowest free number per cluster, and bridges `tcb-<vni>` share the root namespace
    with every other cluster on this machine. Fillers push the VNI up, then go."""
    fillers = []
    offset = 5 + os.getpid() % 60
    while len(fillers) < offset or link(f"tcb-{len(fillers) + 1}") is not None:
        filler = f"{name}-fill-{len(fillers)}"
        cluster.call("Networks", "CreateVpc", networks_pb2.CreateVpcRequest(name=filler, cidr="10.254.0.0/16"))
        fillers.append(filler)
    vpc = cluster.call("Networks", "CreateVpc", networks_pb2.CreateVpcRequest(name=name, cidr=cidr))
    for filler in fillers:
        cluster.call("Networks", "DeleteVpc", networks_pb2.NetworkRef(name=filler))
    cluster.call("Networks", "CreateSubnet", networks_pb2.CreateSubnetRequest(
        name=subnet, vpc=name, cidr=subnet_cidr))
    return vpc


def files_containing(root: Path, needles: list[bytes]) -> list[str]:
    """Files under `root` holding any of `needles`."""
    hits = []
    for path in Path(root).rglob("*"):
        if not path.is_file():
            continue
        with contextlib.suppress(OSError):
            data = path.read_bytes()
            if any(needle in data for needle in needles):
                hits.append(str(path))
    return hits
