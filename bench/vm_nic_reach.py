"""VM NIC: CreateInstance accepted -> the guest answers a ping from a container in its subnet.

One host (the all-in-one agent, root network namespace), one VPC subnet, one busybox
container in it. Each round creates a VM with a NIC in the subnet and clocks, from
the moment the API accepted it: the guest's first console line (the domain runs:
bridge ensured, domain defined and started), the guest's `net dev=…` line (it
applied the cloud-init network-config), and the first ping reply from the guest to
the container (`docker exec … ping -c 1 -W 1`, retried at once), and the gap between
the last two (what the NIC path costs once the guest is configured). For comparison,
the same clocks for a VM without a NIC (first console line, the guest's `ready`).

    .venv/bin/python bench/vm_nic_reach.py [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import allinone, client_for, summary_ms, write  # noqa: E402
from _vm import import_guest, restart_with_libvirt  # noqa: E402
from vm_boot import remove_domains_of  # noqa: E402

from proto.v1 import networks_pb2, public_pb2, resources_pb2 as pb  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BUSYBOX = "thecloud/busybox:test"
CMDLINE = "console=ttyS0 no_timer_check"


def console_has(path: Path, needle: bytes) -> bool:
    try:
        return needle in path.read_bytes()
    except FileNotFoundError:
        return False


def wait(what: str, check, start: float, timeout: float = 180.0) -> float:
    while time.monotonic() - start < timeout:
        if check():
            return time.monotonic() - start
        time.sleep(0.01)
    raise TimeoutError(f"{what}: not within {timeout}s")


def vm_round(client, docker_client, vm_dir: Path, name: str, peer: str | None) -> dict:
    """Seconds from accepted to each milestone of one VM (with a NIC when `peer` is set)."""
    spec = pb.InstanceSpec(kind="vm", image="guest", vcpus=1, memory_bytes=256 << 20, disk_bytes=1 << 30,
                           subnet="benchsub" if peer else "")
    inst = client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name=name, spec=spec),
                       write=True)
    start = time.monotonic()
    console = vm_dir / "instances" / inst.meta.id / "console.log"
    took = {"first_console_line": wait("console", lambda: console.exists() and console.stat().st_size > 0, start)}
    if peer:
        took["network_config_applied"] = wait("net", lambda: console_has(console, b"THECLOUD-GUEST: net "), start)
        address = client.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name)).port.ip
        box = docker_client.containers.get(peer)
        took["first_ping_reply"] = wait(
            "ping", lambda: box.exec_run(["ping", "-c", "1", "-W", "1", address]).exit_code == 0, start)
        # What the NIC path itself costs once the guest has its address: boot time drops out.
        took["ping_reply_after_network_config"] = took["first_ping_reply"] - took["network_config_applied"]
    else:
        took["guest_ready"] = wait("ready", lambda: console_has(console, b"THECLOUD-GUEST: ready"), start)
    client.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name), write=True)
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    import docker
    docker_client = docker.from_env()
    guest = Path(subprocess.run(["bash", str(REPO / "scripts" / "build-vm-test-guest.sh")], check=True,
                                capture_output=True, text=True).stdout.strip().splitlines()[-1])
    work = Path(tempfile.mkdtemp(prefix="thecloud-vmnic-bench-"))
    work.chmod(0o711)
    vm_dir = work / "agent"
    with_nic: dict[str, list[float]] = {}
    without: dict[str, list[float]] = {}
    agent_name = ""
    try:
        with allinone(agent_vcpus=64) as (aio, home):
            agent_name = aio.agent_name
            client = client_for(aio, home)
            restart_with_libvirt(aio, client, vm_dir)
            import_guest(client, guest, CMDLINE)
            # Bridges share the root namespace with other clusters: keep off their low VNIs.
            fillers = [f"fill-{i}" for i in range(5 + os.getpid() % 60)]
            for filler in fillers:
                client.call("Networks", "CreateVpc", networks_pb2.CreateVpcRequest(name=filler, cidr="10.254.0.0/16"),
                            write=True)
            client.call("Networks", "CreateVpc", networks_pb2.CreateVpcRequest(name="benchnet", cidr="10.78.0.0/16"),
                        write=True)
            for filler in fillers:
                client.call("Networks", "DeleteVpc", networks_pb2.NetworkRef(name=filler), write=True)
            client.call("Networks", "CreateSubnet", networks_pb2.CreateSubnetRequest(
                name="benchsub", vpc="benchnet", cidr="10.78.1.0/24"), write=True)
            box = client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name="box", spec=pb.InstanceSpec(image=BUSYBOX, vcpus=1, memory_bytes=16 << 20,
                                                 command=["sleep", "3600"], subnet="benchsub")), write=True)
            while not box.runtime_id:
                time.sleep(0.2)
                box = client.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name="box"))
            vm_round(client, docker_client, vm_dir, "warm", None)        # fills the agent's image cache
            for index in range(args.rounds):
                for key, value in vm_round(client, docker_client, vm_dir, f"plain{index}", None).items():
                    without.setdefault(key, []).append(value)
                for key, value in vm_round(client, docker_client, vm_dir, f"nic{index}", box.runtime_id).items():
                    with_nic.setdefault(key, []).append(value)
            client.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name="box"), write=True)
            time.sleep(2)
            remove_domains_of(aio.agent_name)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if agent_name:   # the VPC bridge and tables, should the agent not have removed them in time
            from tests.vm.vms.vm_guest_harness import remove_agent_network
            remove_agent_network(agent_name)
    write("vm_nic_reach", {
        "with_nic_from_accepted": {key: summary_ms(values) for key, values in with_nic.items()},
        "without_nic_from_accepted": {key: summary_ms(values) for key, values in without.items()},
        "load_average_at_end": list(os.getloadavg()),
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
