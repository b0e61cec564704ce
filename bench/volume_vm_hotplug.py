"""Volume hot-plug into a running VM, through the cluster vs the bare libvirt calls.

One VM (the cached test guest, TCG) runs with tests/vm/volume/volume_watch.sh as its
user-data, which says on the serial console when a disk with a serial appears, grows
or goes. Each round, interleaved:

  ours      AttachVolume -> the guest says "attached"; ResizeVolume (x2) -> the guest
            says "resized"; DetachVolume -> the guest says "detached"
            (API, Raft, reconcilers, agent, libvirt; the file driver)
  baseline  attachDeviceFlags of a qcow2 made beforehand -> "attached"; blockResize ->
            "resized"; detachDeviceFlags -> "detached", on the same domain

The console is polled every 10 ms; the guest itself looks every 0.3 s, on both sides.

    .venv/bin/python bench/volume_vm_hotplug.py [--rounds 5]
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

from agent.compute.vmdisk import VolumeDisk, disk_xml  # noqa: E402
from proto.v1 import public_pb2, resources_pb2 as pb, volumes_pb2  # noqa: E402
from vm_boot import URI, remove_domains_of  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
WATCH = REPO / "tests" / "vm" / "volume" / "volume_watch.sh"
MiB = 1024 * 1024


def wait_line(console: Path, needle: str, start: float, timeout: float = 120.0) -> float:
    """Seconds from `start` until `needle` is on the console."""
    while time.monotonic() - start < timeout:
        if needle in console.read_text(errors="replace"):
            return time.monotonic() - start
        time.sleep(0.01)
    raise TimeoutError(f"{needle!r} not on {console} after {timeout}s")


def ours(client, console: Path, index: int) -> dict:
    name = f"bench{index}"
    vol = client.call("Volumes", "CreateVolume", volumes_pb2.CreateVolumeRequest(
        name=name, size_bytes=16 * MiB), write=True)
    vid = vol.meta.id
    deadline = time.monotonic() + 60
    while client.call("Volumes", "GetVolume", volumes_pb2.GetVolumeRequest(name=name)).state \
            != volumes_pb2.VOLUME_STATE_AVAILABLE:
        if time.monotonic() > deadline:
            raise TimeoutError(f"volume {name} was not made")
        time.sleep(0.05)
    start = time.monotonic()
    client.call("Volumes", "AttachVolume", volumes_pb2.AttachVolumeRequest(name=name, instance="vm"), write=True)
    attach = wait_line(console, f"attached serial={vid}", start)
    start = time.monotonic()
    client.call("Volumes", "ResizeVolume", volumes_pb2.ResizeVolumeRequest(name=name, size_bytes=32 * MiB),
                write=True)
    grow = wait_line(console, f"resized serial={vid}", start)
    start = time.monotonic()
    client.call("Volumes", "DetachVolume", volumes_pb2.DetachVolumeRequest(name=name), write=True)
    detach = wait_line(console, f"detached serial={vid}", start)
    client.call("Volumes", "DeleteVolume", volumes_pb2.DeleteVolumeRequest(name=name), write=True)
    return {"attach": attach, "grow": grow, "detach": detach}


def baseline(dom, work: Path, console: Path, index: int) -> dict:
    import libvirt

    image = work / f"base-{index}.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), str(16 * MiB)], check=True)
    serial = f"base-{index}"         # not a volume id: the agent leaves this disk alone
    xml = disk_xml(VolumeDisk("v-0000", str(image), "file", "qcow2"), "vdz").replace(
        "<serial>v-0000</serial>", f"<serial>{serial}</serial>")
    flags = libvirt.VIR_DOMAIN_AFFECT_LIVE | libvirt.VIR_DOMAIN_AFFECT_CONFIG
    start = time.monotonic()
    dom.attachDeviceFlags(xml, flags)
    attach = wait_line(console, f"attached serial={serial}", start)
    start = time.monotonic()
    dom.blockResize("vdz", 32 * MiB, libvirt.VIR_DOMAIN_BLOCK_RESIZE_BYTES)
    grow = wait_line(console, f"resized serial={serial}", start)
    start = time.monotonic()
    dom.detachDeviceFlags(xml, flags)
    detach = wait_line(console, f"detached serial={serial}", start)
    return {"attach": attach, "grow": grow, "detach": detach}


def main() -> int:
    import libvirt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    guest = Path(subprocess.run(["bash", str(REPO / "scripts" / "build-vm-test-guest.sh")], check=True,
                                capture_output=True, text=True).stdout.strip().splitlines()[-1])
    work = Path(tempfile.mkdtemp(prefix="thecloud-volume-vm-bench-"))
    work.chmod(0o711)
    vm_dir = work / "agent"
    results = {"ours": [], "baseline": []}
    conn = libvirt.open(URI)
    try:
        with allinone(agent_vcpus=64) as (aio, home):
            client = client_for(aio, home)
            # The volume pool where qemu's user can reach it, too.
            restart_with_libvirt(aio, client, vm_dir, ready=lambda host: host.HasField("volume_pool"),
                                 storage_driver="file", storage_dir=str(work / "pool"))
            import_guest(client, guest, "console=ttyS0")
            vm = client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
                name="vm", spec=pb.InstanceSpec(kind="vm", image="guest", vcpus=1, memory_bytes=256 << 20,
                                                disk_bytes=1 << 30, user_data=WATCH.read_text())), write=True)
            console = vm_dir / "instances" / vm.meta.id / "console.log"
            deadline = time.monotonic() + 180
            while not (console.exists() and "THECLOUD-VOL: watching" in console.read_text(errors="replace")):
                if time.monotonic() > deadline:
                    raise TimeoutError("the VM did not boot")
                time.sleep(0.1)
            dom = conn.lookupByName(f"thecloud-{vm.meta.id}")
            for index in range(args.rounds):
                results["baseline"].append(baseline(dom, work, console, index))
                results["ours"].append(ours(client, console, index))
            client.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name="vm"), write=True)
            time.sleep(2)
            remove_domains_of(aio.agent_name)
    finally:
        conn.close()
        shutil.rmtree(work, ignore_errors=True)
    result = {}
    for step in ("attach", "grow", "detach"):
        mine = [r[step] for r in results["ours"]]
        base = [r[step] for r in results["baseline"]]
        result[step] = {"ours_api_to_guest": summary_ms(mine), "baseline_libvirt_to_guest": summary_ms(base),
                        "extra_median_ms": round((statistics.median(mine) - statistics.median(base)) * 1000, 1)}
    write("volume_vm_hotplug", {"rounds": args.rounds, **result})
    return 0


if __name__ == "__main__":
    sys.exit(main())
