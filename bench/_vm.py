"""What the VM benchmarks share: the all-in-one agent restarted with the libvirt
driver, and the test guest imported as an image."""
from __future__ import annotations

import time
from pathlib import Path

from cli.image_source import file_url, read_source
from proto.v1 import images_pb2, public_pb2, vm_pb2


def restart_with_libvirt(aio, client, vm_dir: Path, ready=lambda host: True, **overrides) -> None:
    """Restart the agent with both compute drivers (VM files in `vm_dir`, where qemu's
    user can reach them) and wait until it joined again with libvirt and `ready(host)`."""
    aio.stop_node(aio.agent_name)
    aio.agent_overrides.update(compute_driver="docker,libvirt", vm_dir=str(vm_dir), **overrides)
    aio.prepare()
    aio.start_node(aio.agent_name)
    aio.wait_healthy(timeout=60)
    deadline = time.monotonic() + 60
    while True:
        host = client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts[0]
        if "compute:libvirt" in host.drivers and ready(host):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the agent did not join again with its libvirt driver")
        time.sleep(0.2)


def import_guest(client, guest: Path, cmdline: str, name: str = "guest") -> None:
    """Import the test guest (`make guest-image` output: disk, kernel, initrd) as an image."""
    disk, kernel, initrd = (read_source(file_url(str(guest / f))) for f in ("disk.qcow2", "vmlinuz", "initrd.img"))

    def image_file(facts):
        return vm_pb2.ImageFile(url=facts.url, sha256=facts.sha256, size_bytes=facts.size_bytes)

    client.call("Images", "ImportImage", images_pb2.ImportImageRequest(
        name=name, format=disk.format, disk=image_file(disk), virtual_size_bytes=disk.virtual_size,
        kernel=image_file(kernel), initrd=image_file(initrd), cmdline=cmdline), write=True)
