"""The lvm storage driver: thin volumes and thin snapshots in one thin pool.

LVM is called with argument lists, reports are read with `--reportformat json`
and parsed into `LogicalVolume`. Names carry the cluster's ids:
``vol-<volume id>``, ``snap-<snapshot id>``; every LV this driver makes is tagged
``thecloud`` and a snapshot also ``thecloud.volume.<volume id>``, because a
snapshot outlives the LV it was taken of when a volume is reverted.

Thin snapshots and clones are metadata operations in the pool: their cost does
not depend on the volume's size or data. A revert makes a thin snapshot of the
snapshot under a temporary name (``rev-<volume id>``), removes the volume and
renames the new LV; `volumes()` finishes or discards a revert a crash cut short.
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from agent.storage.base import (Busy, InvalidRequest, NoSpace, NotFound, PoolUsage, StorageDriver,
                                StorageError, StoredSnapshot, StoredVolume, check_id)

log = logging.getLogger(__name__)

TAG = "thecloud"
VOLUME_TAG_PREFIX = "thecloud.volume."
# Without udev (a minimal host, our test guest) LVM must not wait for udev
# events nor leave the /dev nodes to udev rules.
NO_UDEV_CONFIG = "activation{udev_sync=0 udev_rules=0} devices{obtain_device_list_from_udev=0}"
REPORT_FIELDS = "lv_name,lv_size,data_percent,lv_tags,origin,pool_lv,lv_attr,vg_extent_size"

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def _run(argv: Sequence[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(list(argv), capture_output=True, text=True, check=False,
                          env={**os.environ, "LC_ALL": "C", "LVM_SUPPRESS_FD_WARNINGS": "1"})


@dataclass(frozen=True)
class LogicalVolume:
    """One row of `lvs --reportformat json --units b --nosuffix`."""

    name: str
    size_bytes: int
    data_percent: float
    tags: tuple[str, ...]
    origin: str
    pool: str
    attr: str
    extent_bytes: int

    @classmethod
    def from_report(cls, row: dict) -> "LogicalVolume":
        return cls(name=row["lv_name"], size_bytes=int(row["lv_size"] or 0),
                   data_percent=float(row.get("data_percent") or 0.0),
                   tags=tuple(t for t in (row.get("lv_tags") or "").split(",") if t),
                   origin=row.get("origin") or "", pool=row.get("pool_lv") or "",
                   attr=row.get("lv_attr") or "", extent_bytes=int(row.get("vg_extent_size") or 0))

    @property
    def used_bytes(self) -> int:
        return int(self.size_bytes * self.data_percent / 100)

    @property
    def is_thin_pool(self) -> bool:
        return self.attr.startswith("t")


def parse_lvs(text: str) -> list[LogicalVolume]:
    """LVs from `lvs --reportformat json` output: {"report": [{"lv": [ {...}, ... ]}]}."""
    report = json.loads(text)
    return [LogicalVolume.from_report(row) for part in report.get("report", [])
            for row in part.get("lv", [])]


def classify(stderr: str) -> type[StorageError]:
    """The StorageError subclass for an LVM failure message."""
    text = stderr.lower()
    if "not found" in text or "failed to find" in text:
        return NotFound
    if "insufficient" in text or "not enough" in text or "no space" in text \
            or "exceeds the size" in text or "would exceed" in text:
        return NoSpace
    if "in use" in text or "is open" in text or "busy" in text:
        return Busy
    return StorageError


def has_udev() -> bool:
    return Path("/run/udev/control").exists()


class LvmDriver(StorageDriver):
    name = "lvm"

    def __init__(self, vg: str, pool: str = "thecloud-pool", udev: bool | None = None,
                 run: Runner = _run):
        self.vg = vg
        self.thin_pool = pool
        self._config = [] if (has_udev() if udev is None else udev) else ["--config", NO_UDEV_CONFIG]
        self._run_argv = run
        # Sizes this driver made or listed: a clone or resize needs the source's size,
        # and asking lvs for it would double the cost of a create.
        self._sizes: dict[str, int] = {}
        self._extent = 0

    # -- LVM calls -------------------------------------------------------------

    def command(self, tool: str, *args: str) -> list[str]:
        """The argument list of an LVM tool call, with this host's config."""
        return [tool, *self._config, *args]

    def _lvm(self, tool: str, *args: str) -> str:
        proc = self._run_argv(self.command(tool, *args))
        if proc.returncode != 0:
            message = (proc.stderr or proc.stdout).strip().splitlines()
            detail = next((line.strip() for line in reversed(message) if line.strip()
                           and not line.strip().startswith("WARNING")), "failed")
            raise classify(proc.stderr or "")(f"{tool}: {detail}")
        return proc.stdout

    def _lvs(self, *names: str) -> list[LogicalVolume]:
        targets = [f"{self.vg}/{name}" for name in names] or [self.vg]
        out = self._lvm("lvs", "--reportformat", "json", "--units", "b", "--nosuffix",
                        "-o", REPORT_FIELDS, *targets)
        lvs = parse_lvs(out)
        for lv in lvs:
            self._sizes[lv.name] = lv.size_bytes
            self._extent = self._extent or lv.extent_bytes
        return lvs

    def _lv(self, name: str) -> LogicalVolume | None:
        try:
            found = self._lvs(name)
        except NotFound:
            return None
        return found[0] if found else None

    def _rounded(self, size_bytes: int) -> int:
        if not self._extent:
            out = self._lvm("vgs", "--reportformat", "json", "--units", "b", "--nosuffix",
                            "-o", "vg_extent_size", self.vg)
            self._extent = int(json.loads(out)["report"][0]["vg"][0]["vg_extent_size"])
        return -(-size_bytes // self._extent) * self._extent

    @staticmethod
    def volume_lv(volume_id: str) -> str:
        return f"vol-{volume_id}"

    @staticmethod
    def snapshot_lv(snapshot_id: str) -> str:
        return f"snap-{snapshot_id}"

    @staticmethod
    def revert_lv(volume_id: str) -> str:
        return f"rev-{volume_id}"

    # -- the pool ----------------------------------------------------------------

    def ensure_pool(self, percent_of_free: int = 90) -> None:
        """Create the thin pool in the VG unless it exists."""
        if self._lv(self.thin_pool) is not None:
            return
        self._lvm("lvcreate", "--type", "thin-pool", "-l", f"{percent_of_free}%FREE",
                  "-n", self.thin_pool, "--addtag", TAG, self.vg)

    def pool(self) -> PoolUsage:
        lv = self._lv(self.thin_pool)
        if lv is None:
            raise NotFound(f"thin pool {self.vg}/{self.thin_pool} does not exist")
        return PoolUsage(self.name, lv.size_bytes, lv.used_bytes)

    # -- volumes and snapshots -------------------------------------------------------

    def _existing_volume(self, volume_id: str) -> StoredVolume:
        lv = self._lv(self.volume_lv(volume_id))
        if lv is None:
            raise NotFound(f"volume {volume_id} does not exist")
        return self._volume(lv)

    @staticmethod
    def _volume(lv: LogicalVolume) -> StoredVolume:
        origin = lv.origin.removeprefix("snap-") if lv.origin.startswith("snap-") else ""
        return StoredVolume(lv.name.removeprefix("vol-"), lv.size_bytes, lv.used_bytes, origin)

    def create_volume(self, volume_id: str, size_bytes: int) -> StoredVolume:
        check_id(volume_id, "volume_id")
        if size_bytes <= 0:
            raise InvalidRequest(f"size must be positive, not {size_bytes}")
        name = self.volume_lv(volume_id)
        try:
            self._lvm("lvcreate", "--type", "thin", "-V", f"{size_bytes}b", "--thinpool", self.thin_pool,
                      "-n", name, "--addtag", TAG, self.vg)
        except StorageError as err:
            if "already exists" in str(err):
                return self._existing_volume(volume_id)
            raise
        size = self._rounded(size_bytes)
        self._sizes[name] = size
        return StoredVolume(volume_id, size)

    def clone_volume(self, volume_id: str, snapshot_id: str, size_bytes: int) -> StoredVolume:
        check_id(volume_id, "volume_id")
        check_id(snapshot_id, "snapshot_id")
        name, source = self.volume_lv(volume_id), self.snapshot_lv(snapshot_id)
        try:
            # -kn: a clone is a volume, activated like one (snapshots skip activation).
            self._lvm("lvcreate", "-s", f"{self.vg}/{source}", "-kn", "-n", name, "--addtag", TAG)
        except StorageError as err:
            if "already exists" not in str(err):
                raise
            return self._existing_volume(volume_id)
        size = self._sizes.get(source) or self._size_of(source)
        self._sizes[name] = size
        if size_bytes > size:
            return self.resize_volume(volume_id, size_bytes)
        return StoredVolume(volume_id, size, 0, snapshot_id)

    def _size_of(self, name: str) -> int:
        lv = self._lv(name)
        if lv is None:
            raise NotFound(f"{self.vg}/{name} does not exist")
        return lv.size_bytes

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> StoredSnapshot:
        check_id(snapshot_id, "snapshot_id")
        check_id(volume_id, "volume_id")
        name, origin = self.snapshot_lv(snapshot_id), self.volume_lv(volume_id)
        try:
            self._lvm("lvcreate", "-s", f"{self.vg}/{origin}", "-n", name,
                      "--addtag", TAG, "--addtag", VOLUME_TAG_PREFIX + volume_id)
        except StorageError as err:
            if "already exists" not in str(err):
                raise
            return next(s for s in self.snapshots() if s.snapshot_id == snapshot_id)
        size = self._sizes.get(origin) or self._size_of(origin)
        self._sizes[name] = size
        return StoredSnapshot(snapshot_id, volume_id, size)

    def resize_volume(self, volume_id: str, size_bytes: int) -> StoredVolume:
        check_id(volume_id, "volume_id")
        current = self._existing_volume(volume_id)
        wanted = self._rounded(size_bytes)
        if wanted < current.size_bytes:
            raise InvalidRequest(f"volume {volume_id} is {current.size_bytes} bytes; "
                                 f"it cannot shrink to {size_bytes}")
        if wanted == current.size_bytes:
            return current
        self._lvm("lvextend", "-L", f"{wanted}b", f"{self.vg}/{self.volume_lv(volume_id)}")
        self._sizes[self.volume_lv(volume_id)] = wanted
        return StoredVolume(volume_id, wanted, current.used_bytes, current.origin_snapshot)

    def revert_volume(self, volume_id: str, snapshot_id: str) -> StoredVolume:
        check_id(volume_id, "volume_id")
        check_id(snapshot_id, "snapshot_id")
        name, temporary = self.volume_lv(volume_id), self.revert_lv(volume_id)
        source = self.snapshot_lv(snapshot_id)
        if self._lv(source) is None:
            raise NotFound(f"snapshot {snapshot_id} does not exist")
        current = self._existing_volume(volume_id)
        if self._lv(temporary) is not None:
            self._lvm("lvremove", "-y", f"{self.vg}/{temporary}")
        self._lvm("lvcreate", "-s", f"{self.vg}/{source}", "-kn", "-n", temporary, "--addtag", TAG)
        try:
            self._lvm("lvremove", "-y", f"{self.vg}/{name}")
        except StorageError:
            self._lvm("lvremove", "-y", f"{self.vg}/{temporary}")
            raise
        self._lvm("lvrename", self.vg, temporary, name)
        reverted = self._existing_volume(volume_id)
        if reverted.size_bytes < current.size_bytes:
            # A volume grown after the snapshot keeps its size.
            reverted = self.resize_volume(volume_id, current.size_bytes)
        return reverted

    def delete_volume(self, volume_id: str) -> bool:
        check_id(volume_id, "volume_id")
        return self._remove(self.volume_lv(volume_id))

    def delete_snapshot(self, snapshot_id: str) -> bool:
        check_id(snapshot_id, "snapshot_id")
        return self._remove(self.snapshot_lv(snapshot_id))

    def _remove(self, name: str) -> bool:
        try:
            self._lvm("lvremove", "-y", f"{self.vg}/{name}")
        except NotFound:
            return False
        self._sizes.pop(name, None)
        return True

    def _ours(self) -> list[LogicalVolume]:
        return [lv for lv in self._lvs() if TAG in lv.tags and lv.name != self.thin_pool]

    def _finish_reverts(self, lvs: list[LogicalVolume]) -> list[LogicalVolume]:
        """A revert cut short: rename its new LV when the old one is gone, else drop it."""
        names = {lv.name for lv in lvs}
        changed = False
        for lv in lvs:
            if lv.name.startswith("rev-"):
                volume_id = lv.name.removeprefix("rev-")
                if self.volume_lv(volume_id) in names:
                    self._lvm("lvremove", "-y", f"{self.vg}/{lv.name}")
                else:
                    self._lvm("lvrename", self.vg, lv.name, self.volume_lv(volume_id))
                changed = True
        return self._ours() if changed else lvs

    def volumes(self) -> list[StoredVolume]:
        lvs = self._finish_reverts(self._ours())
        return sorted((self._volume(lv) for lv in lvs if lv.name.startswith("vol-")),
                      key=lambda v: v.volume_id)

    def snapshots(self) -> list[StoredSnapshot]:
        found = []
        for lv in self._ours():
            if not lv.name.startswith("snap-"):
                continue
            volume_id = next((t.removeprefix(VOLUME_TAG_PREFIX) for t in lv.tags
                              if t.startswith(VOLUME_TAG_PREFIX)), "")
            found.append(StoredSnapshot(lv.name.removeprefix("snap-"), volume_id, lv.size_bytes))
        return sorted(found, key=lambda s: s.snapshot_id)

    def open_block(self, volume_id: str) -> Path:
        check_id(volume_id, "volume_id")
        name = self.volume_lv(volume_id)
        self._lvm("lvchange", "-ay", "-K", f"{self.vg}/{name}")
        return Path("/dev") / self.vg / name

    def close_block(self, volume_id: str) -> None:
        check_id(volume_id, "volume_id")
        try:
            self._lvm("lvchange", "-an", f"{self.vg}/{self.volume_lv(volume_id)}")
        except NotFound:
            pass
