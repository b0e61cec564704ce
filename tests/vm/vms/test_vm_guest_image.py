"""`make guest-image`: the bootable guest disk (its own bootloader, kernel and
userland) imported like any cloud image — no kernel given — boots through the
cluster and applies its NoCloud seed; a domain that vanishes behind the agent's
back is recreated or marked failed, as its restart policy says."""
from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import libvirt
import pytest

from proto.v1 import public_pb2, resources_pb2 as pb
from tests.vm.vms.vm_harness import READY, cli, libvirt_connection, vm_cluster, wait_console, wait_instance

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def bootable(tmp_path_factory, docker_client):
    libvirt_connection().close()
    image = tmp_path_factory.mktemp("guest-image") / "guest.qcow2"
    subprocess.run(["bash", str(REPO / "scripts" / "build-guest-image.sh"), str(image)], check=True)
    with vm_cluster(tmp_path_factory.mktemp("vmg"), docker_client) as (cluster, _):
        code, out = cli(cluster, "image", "import", "bootable", "--file", str(image))
        assert code == 0, out
        yield cluster


def create(cluster, tmp_path, name, *extra):
    user_data = tmp_path / f"{name}.sh"
    user_data.write_text("#!/bin/sh\necho \"GUEST-IMAGE-USER-DATA on $(hostname)\"\n")
    code, out = cli(cluster, "instance", "create", name, "--kind", "vm", "--image", "bootable",
                    "--cpus", "1", "--memory", "256M", "--disk", "1G", "--user-data", str(user_data),
                    "--wait", "--timeout", "120", *extra)
    assert code == 0, out
    return cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))


def vanish(instance_id: str) -> None:
    """Destroy and undefine the domain directly in libvirt, behind the agent's back."""
    conn = libvirt_connection()
    try:
        dom = conn.lookupByName(f"thecloud-{instance_id}")
        with contextlib.suppress(libvirt.libvirtError):
            dom.destroy()
        dom.undefine()
    finally:
        conn.close()


def test_guest_image_boots_by_itself_and_reads_its_seed(bootable, tmp_path):
    create(bootable, tmp_path, "gvm")
    text = wait_console(bootable, "gvm", READY)
    assert "hostname=gvm" in text
    assert "GUEST-IMAGE-USER-DATA on gvm" in text


def test_vanished_domain_is_recreated_or_failed_by_restart_policy(bootable, tmp_path):
    keeper = create(bootable, tmp_path, "keeper", "--restart", "always")
    goner = create(bootable, tmp_path, "goner")
    vanish(keeper.meta.id)
    vanish(goner.meta.id)
    back = wait_instance(bootable, "keeper", lambda i: i.state == pb.INSTANCE_STATE_RUNNING
                    and i.runtime_id and i.runtime_id != keeper.runtime_id)
    assert back.meta.id == keeper.meta.id
    failed = wait_instance(bootable, "goner", lambda i: i.state == pb.INSTANCE_STATE_FAILED)
    assert failed.reason
