"""Block volumes hot-plugged into running VMs, on real libvirt + qemu (TCG) with the file
driver: the guest sees the disk by its serial (the volume id) and writes to it; a
detached and reattached volume still holds the data; a grown volume shows its new size
in the running guest; a reboot keeps the disk; a VM created with a volume boots with it;
refusals change nothing; `cloud host show` shows the pool.

The guest needs no command channel: its user-data (volume_watch.sh) watches the virtio
disks with a serial and says on the serial console what it sees, writes a marker on a
disk that has none and reads it back from a disk that has one.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import public_pb2, resources_pb2 as pb, volumes_pb2
from tests.integration.cluster.cluster_harness import running_cluster
from tests.vm.vms.vm_harness import (READY, cli, libvirt_connection, remove_agent_domains, vm_dir,
                                     wait_console)

pytestmark = pytest.mark.integration

WATCH = Path(__file__).with_name("volume_watch.sh")
MiB = 1024 * 1024
TIMEOUT = 120


@pytest.fixture(scope="module")
def hotplug(tmp_path_factory, docker_client, guest):
    """A cluster whose agent runs docker and libvirt, with the file driver's pool in a
    directory qemu (its own user) can reach; yields (cluster, pool directory)."""
    conn = libvirt_connection()
    directory = vm_dir()
    pool = directory / "volumes"
    agent_name = None
    try:
        with running_cluster(tmp_path_factory.mktemp("hotplug"), docker_client, agent_overrides={
                "compute_driver": "docker,libvirt", "vm_dir": str(directory), "stop_timeout": 5.0,
                "storage_driver": "file", "storage_dir": str(pool)}) as cluster:
            agent_name = cluster.aio.agent_name
            code, out = cli(cluster, "image", "import", "guest", "--file", str(guest / "disk.qcow2"),
                            "--kernel", str(guest / "vmlinuz"), "--initrd", str(guest / "initrd.img"),
                            "--cmdline", "console=ttyS0")
            assert code == 0, out
            yield cluster, pool
    finally:
        if agent_name:
            remove_agent_domains(conn, agent_name)
        conn.close()
        shutil.rmtree(directory, ignore_errors=True)


def volume(cluster, name: str) -> volumes_pb2.Volume:
    return cluster.call("Volumes", "GetVolume", volumes_pb2.GetVolumeRequest(name=name))


def wait_volume(cluster, name: str, done, timeout: float = TIMEOUT) -> volumes_pb2.Volume:
    deadline = time.monotonic() + timeout
    while True:
        current = volume(cluster, name)
        if done(current):
            return current
        if time.monotonic() > deadline:
            raise AssertionError(f"volume {name} not as expected within {timeout}s: {current}")
        time.sleep(0.3)


def create_volume(cluster, name: str, size: str) -> volumes_pb2.Volume:
    code, out = cli(cluster, "volume", "create", name, "--size", size, "--wait")
    assert code == 0, out
    return volume(cluster, name)


def create_vm(cluster, tmp_path, name: str, *extra: str) -> pb.Instance:
    code, out = cli(cluster, "instance", "create", name, "--kind", "vm", "--image", "guest", "--cpus", "1",
                    "--memory", "256M", "--disk", "1G", "--user-data", str(WATCH), "--wait",
                    "--timeout", str(TIMEOUT), *extra)
    assert code == 0, out
    wait_console(cluster, name, "THECLOUD-VOL: watching")
    return cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))


def volume_disks_of(instance_id: str) -> tuple[dict, dict]:
    """The volume disks of the instance's domain: (running guest, persistent definition)."""
    import libvirt

    from agent.compute.vmdisk import volume_disks
    conn = libvirt_connection()
    try:
        dom = conn.lookupByName(f"thecloud-{instance_id}")
        live = volume_disks(dom.XMLDesc(0)) if dom.isActive() else {}
        return live, volume_disks(dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE))
    finally:
        conn.close()


def wait_detached(instance_id: str, volume_id: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while any(volume_id in disks for disks in volume_disks_of(instance_id)):
        assert time.monotonic() < deadline, f"{volume_id} still attached to {instance_id}"
        time.sleep(0.3)


def refused(cluster, method: str, request, status) -> str:
    with pytest.raises(RpcFailure) as err:
        cluster.call("Volumes", method, request, write=True)
    assert err.value.code == status, err.value
    return str(err.value)


def test_volume_hotplug_into_a_running_vm(hotplug, tmp_path):
    cluster, pool = hotplug
    data = create_volume(cluster, "data1", "16M")
    vid = data.meta.id
    vm = create_vm(cluster, tmp_path, "vm1")

    code, out = cli(cluster, "volume", "attach", "data1", "vm1")
    assert code == 0, out
    text = wait_console(cluster, "vm1", f"THECLOUD-VOL: wrote serial={vid} rc=0")
    assert f"attached serial={vid} dev=vdb sectors={16 * MiB // 512}" in text
    shown = wait_volume(cluster, "data1", lambda v: v.state == volumes_pb2.VOLUME_STATE_IN_USE)
    assert shown.attached_to == "vm1" and shown.attach_path == f"/dev/disk/by-id/virtio-{vid}"
    live, config = volume_disks_of(vm.meta.id)
    # In the running guest and in the definition (survives a reboot, a stop, the agent).
    assert live[vid].path == config[vid].path == str(pool / f"vol-{vid}.qcow2")

    code, out = cli(cluster, "volume", "detach", "data1")
    assert code == 0, out
    wait_console(cluster, "vm1", f"THECLOUD-VOL: detached serial={vid}")
    wait_detached(vm.meta.id, vid)
    wait_volume(cluster, "data1", lambda v: v.state == volumes_pb2.VOLUME_STATE_AVAILABLE)

    code, out = cli(cluster, "volume", "attach", "data1", "vm1")
    assert code == 0, out
    text = wait_console(cluster, "vm1", f"THECLOUD-VOL: read serial={vid} "
                                        f"data=THECLOUD-VOLDATA written-on-vm1-to-{vid}")
    assert text.count(f"wrote serial={vid}") == 1          # read back, not written again

    code, out = cli(cluster, "volume", "resize", "data1", "--size", "32M", "--wait")
    assert code == 0, out
    wait_console(cluster, "vm1", f"THECLOUD-VOL: resized serial={vid} dev=vdb sectors={32 * MiB // 512}")
    grown = wait_volume(cluster, "data1", lambda v: v.observed_size_bytes == 32 * MiB)
    assert grown.size_bytes == 32 * MiB and grown.state == volumes_pb2.VOLUME_STATE_IN_USE

    # A reboot keeps the disk: the guest finds it at boot, with the data.
    reads = wait_console(cluster, "vm1", READY).count(f"read serial={vid}")
    code, out = cli(cluster, "instance", "reboot", "vm1")
    assert code == 0, out
    wait_console(cluster, "vm1", f"THECLOUD-VOL: read serial={vid}", count=reads + 1)
    assert f"attached serial={vid} dev=vdb sectors={32 * MiB // 512}" in \
        wait_console(cluster, "vm1", READY, count=2)

    code, out = cli(cluster, "volume", "detach", "data1")
    assert code == 0, out
    wait_detached(vm.meta.id, vid)
    wait_volume(cluster, "data1", lambda v: v.state == volumes_pb2.VOLUME_STATE_AVAILABLE)
    code, out = cli(cluster, "volume", "delete", "data1", "--wait")
    assert code == 0, out
    assert not (pool / f"vol-{vid}.qcow2").exists()


def test_volume_refusals_for_vms_change_nothing(hotplug):
    cluster, pool = hotplug
    vid = create_volume(cluster, "data3", "8M").meta.id
    code, out = cli(cluster, "volume", "attach", "data3", "vm1")     # vm1: the VM of the test above
    assert code == 0, out
    wait_console(cluster, "vm1", f"THECLOUD-VOL: wrote serial={vid}")
    code, out = cli(cluster, "instance", "create", "c3", "--image", "thecloud/busybox:test",
                    "--command", "sleep 3600", "--wait")
    assert code == 0, out
    before = volume(cluster, "data3")

    assert "attached to instance vm1" in refused(cluster, "AttachVolume", volumes_pb2.AttachVolumeRequest(
        name="data3", instance="c3"), grpc.StatusCode.FAILED_PRECONDITION)
    assert "attached" in refused(cluster, "DeleteVolume", volumes_pb2.DeleteVolumeRequest(name="data3"),
                                 grpc.StatusCode.FAILED_PRECONDITION)
    other = create_volume(cluster, "data4", "8M")
    assert "virtio" in refused(cluster, "AttachVolume", volumes_pb2.AttachVolumeRequest(
        name="data4", instance="vm1", path="/data"), grpc.StatusCode.INVALID_ARGUMENT)
    after = volume(cluster, "data3")
    assert (after.attached_to, after.state, after.meta.revision) == \
        (before.attached_to, before.state, before.meta.revision)
    assert volume(cluster, "data4").state == volumes_pb2.VOLUME_STATE_AVAILABLE
    live, _ = volume_disks_of(cluster.call("Instances", "GetInstance",
                                           public_pb2.GetInstanceRequest(name="vm1")).meta.id)
    assert set(live) == {vid} and other.meta.id not in live

    # `cloud host show` has the pool: driver, size, provisioned, used, overcommit.
    host = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts[0]
    assert host.volume_pool.driver == "file" and host.volume_pool.total_bytes > 0
    assert host.volume_pool.provisioned_bytes >= 16 * MiB and host.volume_pool.overcommit > 0
    code, shown = cli(cluster, "host", "show", host.meta.name)
    assert code == 0 and "volume pool" in shown and "file," in shown and "provisioned" in shown

    for name in ("c3", "vm1"):
        code, out = cli(cluster, "instance", "delete", name, "--wait", "--timeout", "60")
        assert code == 0, out
    # The VM's deletion let the volume go.
    wait_volume(cluster, "data3", lambda v: v.state == volumes_pb2.VOLUME_STATE_AVAILABLE)
    for name in ("data3", "data4"):
        code, out = cli(cluster, "volume", "delete", name, "--wait")
        assert code == 0, out
    assert not list(pool.glob("vol-*.qcow2"))


def test_volume_given_at_vm_creation_is_there_at_boot(hotplug, tmp_path):
    cluster, pool = hotplug
    vid = create_volume(cluster, "data2", "8M").meta.id
    vm = create_vm(cluster, tmp_path, "vm2", "--volume", "data2")
    text = wait_console(cluster, "vm2", f"THECLOUD-VOL: wrote serial={vid} rc=0")
    # The kernel found it while it booted (before the guest said it was ready): in the
    # domain from the start, not hot-plugged afterwards.
    assert "[vdb]" in text and text.index("[vdb]") < text.index(READY)
    assert volume(cluster, "data2").attach_path == f"/dev/disk/by-id/virtio-{vid}"
    live, config = volume_disks_of(vm.meta.id)
    assert vid in live and vid in config
    code, out = cli(cluster, "instance", "delete", "vm2", "--wait", "--timeout", "60")
    assert code == 0, out
    wait_volume(cluster, "data2", lambda v: v.state == volumes_pb2.VOLUME_STATE_AVAILABLE)
    code, out = cli(cluster, "volume", "delete", "data2", "--wait")
    assert code == 0, out
    assert not (pool / f"vol-{vid}.qcow2").exists()
