"""The lvm storage driver's own tests, run INSIDE the LVM test guest (a kernel with device-mapper).

tests/integration/volume/test_volume_lvm_guest.py boots the guest, which runs
this module with the guest's pytest against the volume group `tcvg` on its
second disk and sends the JUnit report back. Run on a host without
device-mapper these tests cannot work, hence the name outside `test_*`.
"""
import json
import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from agent.storage import filesystem
from agent.storage.base import Busy, InvalidRequest, NotFound
from agent.storage.host import HostVolumes
from agent.storage.journal import CREATING, PRESENT, VolumeJournal
from agent.storage.lvm import NO_UDEV_CONFIG, LvmDriver, parse_lvs

VG = os.environ.get("TC_VG", "tcvg")
MiB = 1024**2


@pytest.fixture(scope="module")
def driver():
    d = LvmDriver(VG, pool="tcpool", udev=False)
    d.ensure_pool()
    return d


def lvs_names():
    out = subprocess.run(["lvs", "--config", NO_UDEV_CONFIG, "--reportformat", "json", "-o", "lv_name", VG],
                         capture_output=True, text=True, check=True).stdout
    return {row["lv_name"] for row in json.loads(out)["report"][0]["lv"]}


def write_at(device, offset, data: bytes):
    with open(device, "r+b", buffering=0) as f:
        f.seek(offset)
        f.write(data)
        os.fsync(f.fileno())


def read_at(device, offset, n):
    with open(device, "rb", buffering=0) as f:
        f.seek(offset)
        return f.read(n)


def test_report_is_parsed_into_dataclasses(driver):
    driver.create_volume("v-a001", 8 * MiB)
    out = subprocess.run(driver.command("lvs", "--reportformat", "json", "--units", "b", "--nosuffix", "-o",
                                        "lv_name,lv_size,data_percent,lv_tags,origin,pool_lv,lv_attr,vg_extent_size",
                                        f"{VG}/vol-v-a001"), capture_output=True, text=True, check=True).stdout
    [lv] = parse_lvs(out)
    assert lv.name == "vol-v-a001" and lv.size_bytes == 8 * MiB and lv.pool == "tcpool"
    assert "thecloud" in lv.tags and lv.extent_bytes > 0
    assert driver.pool().driver == "lvm" and driver.pool().total_bytes > 0
    assert driver.delete_volume("v-a001") and not driver.delete_volume("v-a001")


def test_snapshot_clone_revert_resize_and_delete(driver):
    v = driver.create_volume("v-b001", 64 * MiB)
    assert v.size_bytes == 64 * MiB
    assert driver.create_volume("v-b001", 64 * MiB).size_bytes == 64 * MiB       # idempotent
    dev = driver.open_block("v-b001")
    write_at(dev, 0, b"old-data")
    driver.create_snapshot("s-b001", "v-b001")
    write_at(dev, 0, b"new-data")
    clone = driver.clone_volume("v-b002", "s-b001", 96 * MiB)
    assert clone.size_bytes == 96 * MiB
    assert read_at(driver.open_block("v-b002"), 0, 8) == b"old-data"
    assert [s.snapshot_id for s in driver.snapshots() if s.volume_id == "v-b001"] == ["s-b001"]

    driver.close_block("v-b001")
    reverted = driver.revert_volume("v-b001", "s-b001")
    assert reverted.size_bytes == 64 * MiB and reverted.origin_snapshot == "s-b001"
    assert read_at(driver.open_block("v-b001"), 0, 8) == b"old-data"
    # The snapshot survives the revert and still belongs to the volume.
    assert [s.volume_id for s in driver.snapshots() if s.snapshot_id == "s-b001"] == ["v-b001"]

    grown = driver.resize_volume("v-b001", 128 * MiB)
    assert grown.size_bytes == 128 * MiB
    assert {v.volume_id: v.size_bytes for v in driver.volumes()}["v-b001"] == 128 * MiB
    with pytest.raises(InvalidRequest):
        driver.resize_volume("v-b001", 64 * MiB)

    driver.close_block("v-b001")
    driver.close_block("v-b002")
    assert driver.delete_snapshot("s-b001")
    assert read_at(driver.open_block("v-b002"), 0, 8) == b"old-data"           # a clone is independent
    driver.close_block("v-b002")
    for vid in ("v-b001", "v-b002"):
        assert driver.delete_volume(vid)
    assert not {"vol-v-b001", "vol-v-b002", "snap-s-b001"} & lvs_names()


def test_refusals_change_nothing(driver, tmp_path):
    with pytest.raises(NotFound):
        driver.clone_volume("v-c002", "s-c404", 0)
    with pytest.raises(NotFound):
        driver.revert_volume("v-c404", "s-c404")
    with pytest.raises(InvalidRequest):
        driver.create_volume("../../dev", MiB)
    with pytest.raises(InvalidRequest):
        driver.create_volume("v-c003", 0)
    driver.create_volume("v-c001", 32 * MiB)
    mnt = tmp_path / "m"
    filesystem.mount(driver.open_block("v-c001"), mnt)
    try:
        before = lvs_names()
        with pytest.raises(Busy):
            driver.delete_volume("v-c001")
        assert lvs_names() == before
    finally:
        filesystem.unmount(mnt)
    driver.close_block("v-c001")
    assert driver.delete_volume("v-c001")


def test_host_volumes_mount_format_and_grow_online(driver, tmp_path):
    host = HostVolumes(driver, VolumeJournal(tmp_path / "j"), tmp_path / "mnt")
    host.ensure_volume("v-d001", 32 * MiB)
    [(mnt, _)] = host.mount_for("i-1", [("v-d001", "/data")])
    Path(mnt, "f").write_text("kept")
    host.ensure_volume("v-d001", 96 * MiB)          # grown while mounted
    host.release("i-1")
    host.mount_for("i-1", [("v-d001", "/data")])
    assert Path(mnt, "f").read_text() == "kept"
    stat = os.statvfs(mnt)
    assert stat.f_blocks * stat.f_frsize > 64 * MiB
    host.release("i-1")
    assert host.remove_volume("v-d001")


def test_journal_and_lvm_agree_after_a_crash(driver, tmp_path):
    journal = VolumeJournal(tmp_path / "j")
    journal.put_volume("v-e001", CREATING, 16 * MiB)        # the LV was made, the journal not told
    driver.create_volume("v-e001", 16 * MiB)
    journal.put_volume("v-e002", CREATING, 16 * MiB)        # the crash came before lvcreate
    driver.create_volume("v-e003", 16 * MiB)                # an LV of ours the journal never knew
    journal.put_volume("v-e004", PRESENT, 16 * MiB)         # journalled, then lost
    # A revert cut short after removing the volume, before renaming the new LV.
    driver.create_volume("v-e005", 16 * MiB)
    journal.put_volume("v-e005", PRESENT, 16 * MiB)
    driver.create_snapshot("s-e005", "v-e005")
    journal.put_snapshot("s-e005", "v-e005", PRESENT)
    subprocess.run(driver.command("lvcreate", "-s", f"{VG}/snap-s-e005", "-kn", "-n", "rev-v-e005",
                                  "--addtag", "thecloud"), check=True, capture_output=True)
    subprocess.run(driver.command("lvremove", "-y", f"{VG}/vol-v-e005"), check=True, capture_output=True)

    found = HostVolumes(driver, journal, tmp_path / "mnt").adopt()
    assert found.adopted == ["v-e001"]
    assert found.dropped == ["v-e002"]
    assert found.missing == ["v-e004"]
    assert found.unknown == ["v-e003"]
    names = lvs_names()
    assert {"vol-v-e001", "vol-v-e003", "vol-v-e005"} <= names and "rev-v-e005" not in names
    volumes, _, _ = HostVolumes(driver, journal, tmp_path / "mnt").observe()
    assert {v.volume_id: v.state for v in volumes} == {
        "v-e001": "available", "v-e003": "unknown", "v-e004": "missing", "v-e005": "available"}
