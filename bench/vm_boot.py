"""VM boot: CreateInstance accepted -> the guest's first console line, vs `virsh create`.

Both sides boot the same cached test guest (scripts/build-vm-test-guest.sh) with the
same domain type, from a qcow2 overlay and a NoCloud seed; the baseline's overlay and
seed are made before its clock starts (hand-written XML, `virsh create`), ours are
made by the agent inside the measured time. Both clocks stop at the first byte in the
console file, polled every 10 ms. Rounds alternate between the two; the image is
already in the agent's cache (one unmeasured VM first).

    .venv/bin/python bench/vm_boot.py [--rounds 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import allinone, client_for, summary_ms, write  # noqa: E402
from _vm import import_guest, restart_with_libvirt  # noqa: E402

from agent.compute.domain import DirectBoot, DomainConfig, InstanceTags, build_xml  # noqa: E402
from agent.compute.seed import SeedData, write_seed_iso  # noqa: E402
from agent.compute.virt_probe import host_virt_type  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
URI = "qemu:///system"


def first_byte(path: Path, start: float, timeout: float = 120.0) -> float:
    while time.monotonic() - start < timeout:
        if path.exists() and path.stat().st_size > 0:
            return time.monotonic() - start
        time.sleep(0.01)
    raise TimeoutError(f"nothing on {path} after {timeout}s")


def virsh(*args: str) -> None:
    subprocess.run(["virsh", "-q", "-c", URI, *args], check=True, capture_output=True)


def baseline_boot(guest: Path, work: Path, index: int, virt_type: str) -> float:
    directory = work / f"base-{index}"
    directory.mkdir(mode=0o711)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(guest / "disk.qcow2"),
                    "-F", "qcow2", str(directory / "disk.qcow2"), "1G"], check=True)
    write_seed_iso(directory / "seed.iso", SeedData(f"bench-{index}", "bench"))
    name = f"bench-{index}"
    xml = build_xml(DomainConfig(
        tags=InstanceTags(name, "bench-baseline"), virt_type=virt_type, vcpus=1,
        memory_bytes=256 << 20, disk_path=str(directory / "disk.qcow2"),
        seed_path=str(directory / "seed.iso"), console_log=str(directory / "console.log"),
        boot=DirectBoot(str(guest / "vmlinuz"), str(guest / "initrd.img"), "console=ttyS0")))
    (directory / "domain.xml").write_text(xml)
    start = time.monotonic()
    virsh("create", str(directory / "domain.xml"))
    took = first_byte(directory / "console.log", start)
    virsh("destroy", f"thecloud-{name}")
    return took


def our_boot(client, vm_dir: Path, name: str) -> float:
    spec = pb.InstanceSpec(kind="vm", image="guest", vcpus=1, memory_bytes=256 << 20, disk_bytes=1 << 30)
    inst = client.call("Instances", "CreateInstance",
                       public_pb2.CreateInstanceRequest(name=name, spec=spec), write=True)
    accepted = time.monotonic()
    took = first_byte(vm_dir / "instances" / inst.meta.id / "console.log", accepted)
    client.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name), write=True)
    return took


def remove_domains_of(agent_name: str) -> None:
    """Whatever the bench's agent left (its cluster is gone; nobody else would remove them)."""
    import libvirt

    from agent.compute.domain import METADATA_NS, parse_tags_element
    conn = libvirt.open(URI)
    try:
        for dom in conn.listAllDomains():
            try:
                tags = parse_tags_element(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, METADATA_NS))
            except libvirt.libvirtError:
                continue
            if tags is not None and tags.agent == agent_name:
                if dom.isActive():
                    dom.destroy()
                dom.undefine()
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    guest = Path(subprocess.run(["bash", str(REPO / "scripts" / "build-vm-test-guest.sh")], check=True,
                                capture_output=True, text=True).stdout.strip().splitlines()[-1])
    work = Path(tempfile.mkdtemp(prefix="thecloud-vm-bench-"))
    work.chmod(0o711)
    virt_type = host_virt_type(URI, work / "probe").name
    vm_dir = work / "agent"
    ours, base = [], []
    try:
        with allinone(agent_vcpus=64) as (aio, home):
            client = client_for(aio, home)
            restart_with_libvirt(aio, client, vm_dir)
            import_guest(client, guest, "console=ttyS0")
            our_boot(client, vm_dir, "warm")       # fills the agent's image cache
            for index in range(args.rounds):
                base.append(baseline_boot(guest, work, index, virt_type))
                ours.append(our_boot(client, vm_dir, f"vm{index}"))
            time.sleep(2)   # let the reconciler delete the last VM before the cluster stops
            remove_domains_of(aio.agent_name)
    finally:
        for index in range(args.rounds):
            subprocess.run(["virsh", "-q", "-c", URI, "destroy", f"thecloud-bench-{index}"],
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    overhead = statistics.median(ours) / statistics.median(base) - 1
    write("vm_boot", {
        "virt_type": virt_type,
        "ours_create_accepted_to_first_console_line": summary_ms(ours),
        "baseline_virsh_create_to_first_console_line": summary_ms(base),
        "overhead_median_percent": round(overhead * 100, 1),
        "target_percent": 15,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
