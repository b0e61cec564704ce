"""Volumes through the public API: a real cluster, the file driver, containers in the real Docker Engine."""
import sys
import time
from pathlib import Path

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import public_pb2, resources_pb2 as pb, storage_pb2, volumes_pb2 as vpb

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))

from cluster_harness import running_cluster  # noqa: E402

MiB = 1024**2
VS = vpb.VolumeState


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, docker_client, busybox_image):
    import shutil
    if not shutil.which("qemu-storage-daemon") or not shutil.which("qemu-img"):
        from tests.conftest import engine_missing
        engine_missing("qemu-img / qemu-storage-daemon are not installed (scripts/packages.d/volume.txt)")
    with running_cluster(tmp_path_factory.mktemp("aio-volume"), docker_client,
                         agent_overrides={"storage_driver": "file", "storage_capacity": "2G"}) as cluster:
        agent_data = cluster.aio.data_path(cluster.aio.agent_name)
        yield cluster
    release_host_volumes(agent_data)


def release_host_volumes(agent_data: Path) -> None:
    """What a stopped agent leaves mounted and exported (its containers are gone by now)."""
    from agent.storage import filesystem
    from agent.storage.file import FileDriver
    for mountpoint in sorted((agent_data / "volume-mounts").glob("*")):
        filesystem.unmount(mountpoint)
    root = agent_data / "volumes"
    if root.exists():
        driver = FileDriver(root)
        for image in sorted(root.glob("vol-*.qcow2")):
            driver.close_block(image.name[len("vol-"):-len(".qcow2")])


def wait(what, check, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def volume(cluster, name):
    try:
        return cluster.call("Volumes", "GetVolume", vpb.GetVolumeRequest(name=name))
    except RpcFailure as err:
        if err.code == grpc.StatusCode.NOT_FOUND:
            return None
        raise


def wait_volume(cluster, name, states=(VS.VOLUME_STATE_AVAILABLE,)):
    return wait(f"volume {name} in {states}", lambda: (lambda v: v if v and v.state in states
                                                        and v.observed_size_bytes >= v.size_bytes else None)(
        volume(cluster, name)))


def wait_snapshot(cluster, name):
    return wait(f"snapshot {name}", lambda: (lambda s: s if s.state == VS.VOLUME_STATE_AVAILABLE else None)(
        cluster.call("Snapshots", "GetSnapshot", vpb.GetSnapshotRequest(name=name))))


def code_of(cluster, service, method, request):
    with pytest.raises(RpcFailure) as err:
        cluster.call(service, method, request)
    return err.value.code


def create_instance(cluster, name, volumes):
    spec = pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=32 * MiB,
                           command=["sleep", "100000"],
                           volumes=[storage_pb2.VolumeAttachment(volume=v, path=p) for v, p in volumes])
    return cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name=name, spec=spec))


def container_with(cluster, docker_client, name, path):
    """The running container of instance `name` once it has a mount at `path` (or none, path=None)."""
    def ready():
        inst = cluster.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
        if inst.state != pb.INSTANCE_STATE_RUNNING or not inst.runtime_id:
            return None
        try:
            container = docker_client.containers.get(inst.runtime_id)
        except Exception:  # noqa: BLE001 - replaced under us; the next poll sees the new one
            return None
        mounts = {m["Destination"] for m in container.attrs["Mounts"]}
        has = path in mounts if path else not mounts
        return container if container.status == "running" and has else None
    return wait(f"{name} running with {path}", ready)


def sh(container, script):
    result = container.exec_run(["sh", "-c", script])
    assert result.exit_code == 0, result.output
    return result.output.decode()


def pool_files(cluster):
    return sorted(p.name for p in (cluster.aio.data_path(cluster.aio.agent_name) / "volumes").glob("*.qcow2"))


def test_volume_journey_through_the_api(cluster, docker_client):
    wait("a volume pool", lambda: cluster.call("Volumes", "ListStoragePools", vpb.ListStoragePoolsRequest()).pools)
    cluster.call("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="data1", size_bytes=64 * MiB))
    data1 = wait_volume(cluster, "data1")
    assert data1.host_name == cluster.aio.agent_name

    # Write through a container, snapshot (detached: the file driver's rule), write more.
    create_instance(cluster, "vw1", [("data1", "/data")])
    c1 = container_with(cluster, docker_client, "vw1", "/data")
    sh(c1, "echo old > /data/f && sync")
    assert wait_volume(cluster, "data1", (VS.VOLUME_STATE_IN_USE,)).attached_to == "vw1"
    cluster.call("Volumes", "DetachVolume", vpb.DetachVolumeRequest(name="data1"))
    container_with(cluster, docker_client, "vw1", None)
    cluster.call("Snapshots", "CreateSnapshot", vpb.CreateSnapshotRequest(name="s1", volume="data1"))
    wait_snapshot(cluster, "s1")
    cluster.call("Volumes", "AttachVolume", vpb.AttachVolumeRequest(name="data1", instance="vw1", path="/data"))
    c1 = container_with(cluster, docker_client, "vw1", "/data")
    assert sh(c1, "cat /data/f") == "old\n"
    sh(c1, "echo new > /data/f && sync")

    # A clone of the snapshot reads the old data.
    cluster.call("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="data2", from_snapshot="s1"))
    assert wait_volume(cluster, "data2").source_snapshot == "s1"
    create_instance(cluster, "vw2", [("data2", "/data")])
    c2 = container_with(cluster, docker_client, "vw2", "/data")
    assert sh(c2, "cat /data/f") == "old\n"

    # Grow it (detached, on the file driver) and see the new size.
    assert code_of(cluster, "Volumes", "ResizeVolume", vpb.ResizeVolumeRequest(
        name="data2", size_bytes=128 * MiB)) == grpc.StatusCode.FAILED_PRECONDITION
    cluster.call("Volumes", "DetachVolume", vpb.DetachVolumeRequest(name="data2"))
    container_with(cluster, docker_client, "vw2", None)
    cluster.call("Volumes", "ResizeVolume", vpb.ResizeVolumeRequest(name="data2", size_bytes=128 * MiB))
    assert wait_volume(cluster, "data2").observed_size_bytes == 128 * MiB
    cluster.call("Volumes", "AttachVolume", vpb.AttachVolumeRequest(name="data2", instance="vw2", path="/mnt/d"))
    c2 = container_with(cluster, docker_client, "vw2", "/mnt/d")
    blocks = int(sh(c2, "df -k /mnt/d | tail -1").split()[1])
    assert blocks * 1024 > 100 * MiB
    assert sh(c2, "cat /mnt/d/f") == "old\n"

    # Detach and reattach: the data is intact.
    cluster.call("Volumes", "DetachVolume", vpb.DetachVolumeRequest(name="data1"))
    container_with(cluster, docker_client, "vw1", None)
    cluster.call("Volumes", "AttachVolume", vpb.AttachVolumeRequest(name="data1", instance="vw1", path="/data"))
    c1 = container_with(cluster, docker_client, "vw1", "/data")
    assert sh(c1, "cat /data/f") == "new\n"

    # Revert needs it detached; then the snapshot's data is back.
    assert code_of(cluster, "Volumes", "RevertVolume", vpb.RevertVolumeRequest(
        name="data1", snapshot="s1")) == grpc.StatusCode.FAILED_PRECONDITION
    cluster.call("Volumes", "DetachVolume", vpb.DetachVolumeRequest(name="data1"))
    container_with(cluster, docker_client, "vw1", None)
    wait_volume(cluster, "data1")
    cluster.call("Volumes", "RevertVolume", vpb.RevertVolumeRequest(name="data1", snapshot="s1"))
    wait_volume(cluster, "data1")   # REVERTING until its host has done it; attach is refused meanwhile
    cluster.call("Volumes", "AttachVolume", vpb.AttachVolumeRequest(name="data1", instance="vw1", path="/data"))
    c1 = container_with(cluster, docker_client, "vw1", "/data")
    assert sh(c1, "cat /data/f") == "old\n"

    # Delete: refused while attached or with snapshots; then gone from the host.
    for name in ("vw1", "vw2"):
        cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))
    data1_id, data2_id = data1.meta.id, volume(cluster, "data2").meta.id
    wait("instances gone", lambda: not [i for i in cluster.instances() if i.meta.name in ("vw1", "vw2")])
    assert code_of(cluster, "Volumes", "DeleteVolume", vpb.DeleteVolumeRequest(name="data1")) \
        == grpc.StatusCode.FAILED_PRECONDITION
    cluster.call("Volumes", "DeleteVolume", vpb.DeleteVolumeRequest(name="data2"))
    cluster.call("Volumes", "DeleteVolume", vpb.DeleteVolumeRequest(name="data1", cascade=True))
    wait("volumes gone", lambda: volume(cluster, "data1") is None and volume(cluster, "data2") is None)
    files = pool_files(cluster)
    assert not [f for f in files if data1_id in f or data2_id in f], files


def test_bad_input_gets_the_right_status_and_changes_nothing(cluster, docker_client):
    wait("a volume pool", lambda: cluster.call("Volumes", "ListStoragePools", vpb.ListStoragePoolsRequest()).pools)
    cluster.call("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="bad1", size_bytes=16 * MiB))
    wait_volume(cluster, "bad1")
    create_instance(cluster, "vb1", [("bad1", "/data")])
    cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(name="vb2", spec=pb.InstanceSpec(
        image="thecloud/busybox:test", vcpus=1, memory_bytes=32 * MiB, command=["sleep", "100000"])))
    files = pool_files(cluster)
    listed = [(v.meta.id, v.size_bytes) for v in cluster.call("Volumes", "ListVolumes", vpb.ListVolumesRequest()).volumes]
    cases = [
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="x1", size_bytes=0), "INVALID_ARGUMENT"),
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="x1", size_bytes=-1), "INVALID_ARGUMENT"),
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="x1", size_bytes=1024**4), "RESOURCE_EXHAUSTED"),
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="Bad_Name", size_bytes=MiB), "INVALID_ARGUMENT"),
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="bad1", size_bytes=MiB), "ALREADY_EXISTS"),
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="x1", size_bytes=MiB, host="nohost"), "NOT_FOUND"),
        ("Volumes", "CreateVolume", vpb.CreateVolumeRequest(name="x1", from_snapshot="nosnap"), "NOT_FOUND"),
        ("Volumes", "AttachVolume", vpb.AttachVolumeRequest(name="bad1", instance="vb2"), "FAILED_PRECONDITION"),
        ("Volumes", "AttachVolume", vpb.AttachVolumeRequest(name="bad1", instance="vb2", path="rel"),
         "INVALID_ARGUMENT"),
        ("Volumes", "DeleteVolume", vpb.DeleteVolumeRequest(name="bad1"), "FAILED_PRECONDITION"),
        ("Volumes", "ResizeVolume", vpb.ResizeVolumeRequest(name="bad1", size_bytes=MiB), "INVALID_ARGUMENT"),
        ("Volumes", "GetVolume", vpb.GetVolumeRequest(name="nope"), "NOT_FOUND"),
        ("Snapshots", "CreateSnapshot", vpb.CreateSnapshotRequest(name="sx", volume="nope"), "NOT_FOUND"),
    ]
    for service, method, request, expected in cases:
        assert code_of(cluster, service, method, request).name == expected, (method, request)
    assert pool_files(cluster) == files
    assert [(v.meta.id, v.size_bytes) for v in cluster.call("Volumes", "ListVolumes", vpb.ListVolumesRequest()).volumes] == listed
    for name in ("vb1", "vb2"):
        cluster.call("Instances", "DeleteInstance", public_pb2.DeleteInstanceRequest(name=name))
