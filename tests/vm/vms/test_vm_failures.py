"""VMs that qemu stops, on real libvirt + qemu: a guest whose disk fills the host's
filesystem is paused by qemu on the I/O error (its default `werror=enospc` policy),
and the cloud shows it FAILED with that reason instead of STOPPED "paused"; the
paused domain is kept for inspection until it is stopped or deleted."""
from __future__ import annotations

import subprocess

import libvirt
import pytest

from proto.v1 import resources_pb2 as pb
from tests.vm.vms.vm_harness import (BOOT_TIMEOUT, cli, import_guest, libvirt_connection,
                                     vm_cluster, vm_dir, wait_instance)

pytestmark = pytest.mark.integration

# The instances' files (overlays, seeds, consoles) on a filesystem this small; the image
# cache stays on the big one.
INSTANCES_FS = "24m"
FILL_DISK = "#!/bin/sh\ndd if=/dev/urandom of=/dev/vda bs=1M seek=64 count=96 conv=fsync\necho filled\n"


@pytest.fixture(scope="module")
def small_disk_cluster(tmp_path_factory, docker_client, guest):
    directory = vm_dir()
    instances = directory / "instances"
    instances.mkdir(mode=0o711)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={INSTANCES_FS},mode=0711", "tmpfs",
                    str(instances)], check=True)
    try:
        with vm_cluster(tmp_path_factory.mktemp("vmf"), docker_client, directory=directory) as (cluster, _):
            import_guest(cluster, guest)
            yield cluster
    finally:
        subprocess.run(["umount", "-l", str(instances)], check=False)


def test_vm_paused_on_a_full_host_disk_is_failed_with_its_reason(small_disk_cluster, tmp_path):
    cluster = small_disk_cluster
    user_data = tmp_path / "fill.sh"
    user_data.write_text(FILL_DISK)
    code, out = cli(cluster, "instance", "create", "filler", "--kind", "vm", "--image", "guest",
                    "--cpus", "1", "--memory", "256M", "--disk", "1G", "--user-data", str(user_data))
    assert code == 0, out
    failed = wait_instance(cluster, "filler", lambda i: i.state == pb.INSTANCE_STATE_FAILED,
                           timeout=BOOT_TIMEOUT)
    assert failed.reason.startswith("qemu paused the guest on an I/O error"), failed.reason
    assert "disk vda: no space left on the host's disk" in failed.reason, failed.reason

    conn = libvirt_connection()
    try:
        state, reason = conn.lookupByName(f"thecloud-{failed.meta.id}").state()
        assert (state, reason) == (libvirt.VIR_DOMAIN_PAUSED, libvirt.VIR_DOMAIN_PAUSED_IOERROR)
    finally:
        conn.close()
    code, shown = cli(cluster, "instance", "show", "filler")
    assert code == 0 and "no space left" in shown

    # A stop ends the paused domain; a delete removes it.
    code, out = cli(cluster, "instance", "stop", "filler", "--wait", "--timeout", "60")
    assert code == 0, out
    code, out = cli(cluster, "instance", "delete", "filler", "--wait", "--timeout", "60")
    assert code == 0, out
    conn = libvirt_connection()
    try:
        assert f"thecloud-{failed.meta.id}" not in [d.name() for d in conn.listAllDomains()]
    finally:
        conn.close()
