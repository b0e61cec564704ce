"""A VM's NIC on a VPC, on real libvirt + qemu (TCG) and a real Linux bridge: the VM
and a container in the same subnet on one host ping each other, the guest takes its
address, gateway and MTU from the cloud-init network-config, the tap carries the
port's MAC and a stable name, comes back onto a bridge recreated under it, and
goes with the VM."""
from __future__ import annotations

import re
import subprocess

import pytest

from proto.v1 import public_pb2, resources_pb2 as pb
from tests.vm.vms.vm_guest_harness import guest_cluster, link, private_vpc, wait_for
from tests.vm.vms.vm_harness import BOOT_TIMEOUT, cli, libvirt_connection, wait_console
from agent.compute.vmnic import read_interfaces
from agent.network.vmtap import tap_name

pytestmark = pytest.mark.integration

PING_SCRIPT = """#!/bin/sh
# Ping the container until it answers (ARP and the bridge may need a moment).
for i in $(seq 1 60); do
    if ping -c 1 -W 1 {peer} >/tmp/ping.out 2>&1; then
        echo "VM-PING-OK {peer} $(grep -o 'ttl=[0-9]*' /tmp/ping.out)"
        exit 0
    fi
done
echo "VM-PING-FAILED {peer}"
"""


@pytest.fixture(scope="module")
def vmc(tmp_path_factory, docker_client, busybox_image, guest):
    with guest_cluster(tmp_path_factory.mktemp("vmnic"), docker_client, guest) as (cluster, directory):
        vpc = private_vpc(cluster, "vmnet", "10.77.0.0/16", "vmsub", "10.77.1.0/24")
        yield cluster, directory, vpc


def get(cluster, name: str) -> pb.Instance:
    return cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))


def container_has(docker_client, runtime_id: str, address: str) -> bool:
    result = docker_client.containers.get(runtime_id).exec_run(["ip", "-4", "addr", "show", "eth0"])
    return result.exit_code == 0 and f"inet {address}/" in result.output.decode()


def container_ping(docker_client, runtime_id: str, address: str) -> bool:
    result = docker_client.containers.get(runtime_id).exec_run(["ping", "-c", "1", "-W", "1", address])
    return result.exit_code == 0


def test_vm_and_container_in_one_subnet_ping_each_other(vmc, docker_client, busybox_image, tmp_path):
    cluster, directory, vpc = vmc
    bridge = f"tcb-{vpc.vni}"
    code, out = cli(cluster, "instance", "create", "box", "--image", busybox_image, "--subnet", "vmsub",
                    "--command", "sleep 3600", "--wait", "--timeout", "120")
    assert code == 0, out
    box = get(cluster, "box")
    wait_for("the container's NIC", lambda: container_has(docker_client, box.runtime_id, box.port.ip))

    script = tmp_path / "ping.sh"
    script.write_text(PING_SCRIPT.format(peer=box.port.ip))
    code, out = cli(cluster, "instance", "create", "vm1", "--kind", "vm", "--image", "guest", "--cpus", "1",
                    "--memory", "256M", "--disk", "1G", "--subnet", "vmsub", "--user-data", str(script),
                    "--wait", "--timeout", "120")
    assert code == 0, out
    vm = get(cluster, "vm1")
    assert vm.port.ip and vm.port.ip != box.port.ip and vm.port.mtu == vpc.mtu == 1450

    # The domain: a bridge interface with the port's MAC, the stable tap, virtio, the VPC MTU.
    conn = libvirt_connection()
    try:
        xml = conn.lookupByName(f"thecloud-{vm.meta.id}").XMLDesc(0)
    finally:
        conn.close()
    tap = tap_name(vm.meta.id)
    assert read_interfaces(xml) == [{"mac": vm.port.mac, "bridge": bridge, "tap": tap,
                                     "model": "virtio", "mtu": 1450}]
    assert link(tap) == {"mtu": 1450, "master": bridge, "up": True}

    # The guest applied the network-config: address/prefix, MTU and default route.
    text = wait_console(cluster, "vm1", "THECLOUD-GUEST: net ")
    net = re.search(r"THECLOUD-GUEST: net dev=(\S+) mac=(\S+) addr=(\S+) mtu=(\d+) gw=(\S*)", text)
    assert net, text[-2000:]
    assert net.group(2) == vm.port.mac and net.group(3) == f"{vm.port.ip}/{vm.port.prefix_len}"
    assert net.group(4) == "1450" and net.group(5) == vm.port.gateway

    # Real packets both ways: the guest pings the container, the container pings the guest.
    text = wait_console(cluster, "vm1", "VM-PING-", timeout=BOOT_TIMEOUT)
    assert f"VM-PING-OK {box.port.ip}" in text, text[-2000:]
    wait_for("the container to reach the VM", lambda: container_ping(docker_client, box.runtime_id, vm.port.ip))


def test_vm_tap_returns_to_a_bridge_recreated_under_it(vmc, docker_client):
    cluster, _, vpc = vmc
    bridge, vm, box = f"tcb-{vpc.vni}", get(cluster, "vm1"), get(cluster, "box")
    tap = tap_name(vm.meta.id)
    subprocess.run(["ip", "link", "del", bridge], check=True)
    assert link(tap) is not None and link(tap)["master"] == ""
    # The network reconciler's next pass makes the bridge again and puts both NICs back on it.
    wait_for("the tap back on its bridge", lambda: (link(tap) or {}).get("master") == bridge)
    wait_for("the container to reach the VM again",
             lambda: container_ping(docker_client, box.runtime_id, vm.port.ip))


def test_vm_delete_removes_its_tap_and_files(vmc):
    cluster, directory, vpc = vmc
    vm = get(cluster, "vm1")
    tap = tap_name(vm.meta.id)
    assert link(tap) is not None and (directory / "instances" / vm.meta.id / "seed.iso").exists()
    code, out = cli(cluster, "instance", "delete", "vm1", "--wait", "--timeout", "120")
    assert code == 0, out
    wait_for("the tap to go", lambda: link(tap) is None)
    assert not (directory / "instances" / vm.meta.id).exists()
    # The container keeps the VPC's bridge; with it gone too, so is the bridge.
    assert link(f"tcb-{vpc.vni}") is not None
    code, out = cli(cluster, "instance", "delete", "box", "--wait", "--timeout", "120")
    assert code == 0, out
    wait_for("the bridge to go with the VPC's last port", lambda: link(f"tcb-{vpc.vni}") is None)

