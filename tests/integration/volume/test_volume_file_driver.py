"""The file storage driver and HostVolumes against real qemu-img, qemu-storage-daemon, loop devices and ext4."""
import os
import shutil
import subprocess

import pytest

from agent.storage.base import Busy, InvalidRequest, NotFound
from agent.storage.file import FileDriver
from agent.storage.host import HostVolumes
from agent.storage.journal import CREATING, VolumeJournal
from tests.conftest import engine_missing

MiB = 1024**2


@pytest.fixture(autouse=True)
def tools():
    for tool in ("qemu-img", "qemu-storage-daemon", "losetup", "mkfs.ext4"):
        if not shutil.which(tool):
            engine_missing(f"{tool} is not installed (scripts/packages.d/volume.txt)")
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse") or not os.path.exists("/dev/loop-control"):
        engine_missing("the file driver's exports need root, /dev/fuse and loop devices")


@pytest.fixture
def driver(tmp_path):
    d = FileDriver(tmp_path / "pool")
    yield d
    for volume in d.volumes():
        d.close_block(volume.volume_id)


@pytest.fixture
def host(tmp_path, driver):
    volumes = HostVolumes(driver, VolumeJournal(tmp_path / "data"), tmp_path / "mnt")
    yield volumes
    for attachment in volumes.journal.attachments():
        volumes.release(attachment.instance_id)


def write(mountpoint, name, text):
    (mountpoint / name).write_text(text)
    os.sync()


def test_snapshot_clone_revert_and_resize_keep_the_right_data(host, driver, tmp_path):
    host.ensure_volume("v-0001", 64 * MiB)
    [(mnt, _)] = host.mount_for("i-01", [("v-0001", "/data")])
    mnt = tmp_path / "mnt" / "v-0001"
    write(mnt, "f", "old")
    host.release("i-01")
    host.ensure_snapshot("s-0001", "v-0001")
    host.mount_for("i-01", [("v-0001", "/data")])
    write(mnt, "f", "new")
    host.release("i-01")

    host.ensure_volume("v-0002", 64 * MiB, source_snapshot_id="s-0001")
    host.mount_for("i-02", [("v-0002", "/data")])
    assert (tmp_path / "mnt" / "v-0002" / "f").read_text() == "old"
    host.release("i-02")

    host.ensure_volume("v-0001", 64 * MiB, revert_snapshot_id="s-0001", revert_generation=1)
    host.mount_for("i-01", [("v-0001", "/data")])
    assert (mnt / "f").read_text() == "old"
    host.release("i-01")
    # The same revert generation again does nothing (the call is retried, the data is not lost).
    host.mount_for("i-01", [("v-0001", "/data")])
    write(mnt, "f", "after")
    host.release("i-01")
    host.ensure_volume("v-0001", 64 * MiB, revert_snapshot_id="s-0001", revert_generation=1)

    grown = host.ensure_volume("v-0001", 128 * MiB)
    assert grown.size_bytes == 128 * MiB
    host.mount_for("i-01", [("v-0001", "/data")])
    assert (mnt / "f").read_text() == "after"
    total = os.statvfs(mnt).f_blocks * os.statvfs(mnt).f_frsize
    assert total > 100 * MiB                        # the filesystem grew with the volume
    host.release("i-01")

    # Deleting the snapshot folds its data into the clone, which keeps reading it.
    assert host.remove_snapshot("s-0001")
    host.mount_for("i-02", [("v-0002", "/data")])
    assert (tmp_path / "mnt" / "v-0002" / "f").read_text() == "old"
    host.release("i-02")
    assert host.remove_volume("v-0002") and host.remove_volume("v-0001")
    assert driver.volumes() == [] and driver.snapshots() == []


def test_busy_and_bad_requests_change_nothing(host, driver):
    host.ensure_volume("v-0001", 32 * MiB)
    host.mount_for("i-01", [("v-0001", "/data")])
    with pytest.raises(Busy):
        host.remove_volume("v-0001")
    with pytest.raises(Busy):
        host.mount_for("i-02", [("v-0001", "/data")])
    with pytest.raises(Busy):
        driver.create_snapshot("s-0001", "v-0001")
    assert driver.snapshots() == []
    host.release("i-01")
    with pytest.raises(InvalidRequest):
        driver.resize_volume("v-0001", 16 * MiB)
    with pytest.raises(NotFound):
        driver.clone_volume("v-0002", "s-0099", 0)
    with pytest.raises(InvalidRequest):
        driver.create_volume("../etc", 1)
    assert [v.volume_id for v in driver.volumes()] == ["v-0001"]


def test_clone_is_constant_time_an_overlay_not_a_copy(driver, tmp_path):
    driver.create_volume("v-0001", 256 * MiB)
    device = driver.open_block("v-0001")
    subprocess.run(["dd", "if=/dev/urandom", f"of={device}", "bs=1M", "count=64", "oflag=direct"],
                   check=True, capture_output=True)
    driver.close_block("v-0001")
    driver.create_snapshot("s-0001", "v-0001")
    clone = driver.clone_volume("v-0002", "s-0001", 0)
    assert clone.origin_snapshot == "s-0001"
    assert clone.used_bytes < MiB                    # a backing-file overlay holds no data yet
    assert (tmp_path / "pool" / "vol-v-0002.qcow2").stat().st_size < MiB


def test_adoption_after_a_crash_adopts_drops_and_reports(tmp_path, driver):
    journal = VolumeJournal(tmp_path / "data")
    # A crash after the create, before the journal said so: adopted.
    journal.put_volume("v-0001", CREATING, 32 * MiB)
    driver.create_volume("v-0001", 32 * MiB)
    # A crash before the create: the intent is dropped.
    journal.put_volume("v-0002", CREATING, 32 * MiB)
    # Something the journal does not know: reported, never deleted.
    driver.create_volume("v-0003", 32 * MiB)
    # A snapshot step cut short between its two renames is finished.
    driver.create_volume("v-0004", 32 * MiB)
    journal.put_volume("v-0004", "present", 32 * MiB)
    staging = tmp_path / "pool" / "vol-v-0004.qcow2.next"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b",
                    "snap-s-0004.v-0004.qcow2", str(staging), str(32 * MiB)], check=True)
    (tmp_path / "pool" / "vol-v-0004.qcow2").rename(tmp_path / "pool" / "snap-s-0004.v-0004.qcow2")

    host = HostVolumes(driver, journal, tmp_path / "mnt")
    found = host.adopt()
    assert found.adopted == ["v-0001"] and found.dropped == ["v-0002"]
    assert found.unknown == ["v-0003", "s-0004"]
    volumes, snapshots, pool = host.observe()
    states = {v.volume_id: v.state for v in volumes}
    assert states == {"v-0001": "available", "v-0003": "unknown", "v-0004": "available"}
    assert [s.state for s in snapshots] == ["unknown"]
    assert pool.driver == "file" and pool.total_bytes > 0
