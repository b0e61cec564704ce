"""This host's volumes as the journal and the storage driver see them together.

`HostVolumes` is what the agent's servicers call: it journals an intent before
each storage call, keeps volumes and snapshots idempotent by id, mounts volumes
for containers, and at start (`adopt`) reconciles the journal with what the
pool really holds — adopting what the agent created, reporting (never deleting)
what it does not know. Standard library only: it runs in the LVM test guest.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from agent.storage import filesystem
from agent.storage.base import Busy, NotFound, PoolUsage, StorageDriver, StoredVolume, VmDisk
from agent.storage.journal import CREATING, PRESENT, Attachment, VolumeJournal

log = logging.getLogger(__name__)

AVAILABLE, MISSING, UNKNOWN = "available", "missing", "unknown"


@dataclass(frozen=True)
class ObservedVolume:
    volume_id: str
    state: str                       # available, creating, missing (journalled, gone), unknown (not journalled)
    size_bytes: int = 0
    used_bytes: int = 0
    revert_generation: int = 0
    attached_to: str = ""            # instance id mounting it on this host
    reason: str = ""


@dataclass(frozen=True)
class ObservedSnapshot:
    snapshot_id: str
    volume_id: str
    state: str
    size_bytes: int = 0
    reason: str = ""


@dataclass
class Adoption:
    """What `adopt()` found: ids adopted, dropped (never made), missing, unknown."""

    adopted: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


class HostVolumes:
    def __init__(self, driver: StorageDriver, journal: VolumeJournal, mount_root: Path):
        self.driver = driver
        self.journal = journal
        self.mount_root = Path(mount_root)
        # One storage change at a time: LVM serializes on its VG lock anyway, and the
        # journal's intent/outcome pairs must not interleave for one id.
        self._lock = threading.RLock()
        # Set by the agent when it runs VMs: (instance id, volume id, bytes) -> whether a
        # running VM's qemu took the new size (see _grow).
        self.vm_grow: Callable[[str, str, int], bool] | None = None

    # -- start-up ------------------------------------------------------------------

    def adopt(self) -> Adoption:
        """Make the journal agree with the pool after a crash; nothing in the pool is deleted."""
        found = Adoption()
        with self._lock:
            stored = {v.volume_id: v for v in self.driver.volumes()}
            for row in self.journal.volumes():
                if row.volume_id in stored:
                    if row.state == CREATING:
                        self.journal.put_volume(row.volume_id, PRESENT, stored[row.volume_id].size_bytes,
                                                row.source_snapshot_id)
                        found.adopted.append(row.volume_id)
                elif row.state == CREATING:
                    self.journal.forget_volume(row.volume_id)     # the crash came before the create
                    found.dropped.append(row.volume_id)
                else:
                    found.missing.append(row.volume_id)
            known = {row.volume_id for row in self.journal.volumes()}
            found.unknown += [vid for vid in stored if vid not in known]
            snapshots = {s.snapshot_id: s for s in self.driver.snapshots()}
            for row in self.journal.snapshots():
                if row.snapshot_id in snapshots:
                    if row.state == CREATING:
                        self.journal.put_snapshot(row.snapshot_id, row.volume_id, PRESENT)
                        found.adopted.append(row.snapshot_id)
                elif row.state == CREATING:
                    self.journal.forget_snapshot(row.snapshot_id)
                    found.dropped.append(row.snapshot_id)
                else:
                    found.missing.append(row.snapshot_id)
            known = {row.snapshot_id for row in self.journal.snapshots()}
            found.unknown += [sid for sid in snapshots if sid not in known]
        for item in found.unknown:
            log.warning("%s is in the storage pool but not in the journal; reporting it, not deleting it",
                        item)
        for item in found.missing:
            log.warning("%s is journalled but gone from the storage pool", item)
        for item in found.adopted:
            log.info("adopted %s, created before a restart", item)
        return found

    # -- volumes ---------------------------------------------------------------------

    def ensure_volume(self, volume_id: str, size_bytes: int, source_snapshot_id: str = "",
                      revert_snapshot_id: str = "", revert_generation: int = 0) -> ObservedVolume:
        """The volume exists with at least `size_bytes`, reverted once per revert generation."""
        with self._lock:
            row = self.journal.volume(volume_id)
            if row is None or row.state == CREATING:
                self.journal.put_volume(volume_id, CREATING, size_bytes, source_snapshot_id,
                                        revert_generation)
                if source_snapshot_id:
                    stored = self.driver.clone_volume(volume_id, source_snapshot_id, size_bytes)
                else:
                    stored = self.driver.create_volume(volume_id, size_bytes)
                self.journal.put_volume(volume_id, PRESENT, stored.size_bytes, source_snapshot_id,
                                        revert_generation)
                row = self.journal.volume(volume_id)
            stored = None
            if revert_snapshot_id and revert_generation > row.revert_generation:
                if self.journal.attachment(volume_id):
                    raise Busy(f"volume {volume_id} is attached; detach it before a revert")
                stored = self.driver.revert_volume(volume_id, revert_snapshot_id)
                self.journal.put_volume(volume_id, PRESENT, stored.size_bytes, row.source_snapshot_id,
                                        revert_generation)
                row = self.journal.volume(volume_id)
            if size_bytes > row.size_bytes:
                attachment = self.journal.attachment(volume_id)
                stored = self._grow(volume_id, size_bytes, attachment)
                self.journal.put_volume(volume_id, PRESENT, stored.size_bytes, row.source_snapshot_id)
                if attachment and attachment.mountpoint and filesystem.is_mounted(Path(attachment.mountpoint)):
                    filesystem.grow(self.driver.open_block(volume_id))
                row = self.journal.volume(volume_id)
            return self._observed(row.volume_id, stored or StoredVolume(volume_id, row.size_bytes))

    def _grow(self, volume_id: str, size_bytes: int, attachment: Attachment | None) -> StoredVolume:
        """Grow the volume; one a VM has attached is grown so that its running guest sees it:
        a block device grows first and qemu is told, an image file qemu holds open is grown
        by qemu itself (the driver's qemu-img would find it locked)."""
        if attachment is None or attachment.mountpoint or self.vm_grow is None:
            return self.driver.resize_volume(volume_id, size_bytes)
        if self.driver.vm_disk(volume_id).source_type == "block":
            stored = self.driver.resize_volume(volume_id, size_bytes)
            self.vm_grow(attachment.instance_id, volume_id, stored.size_bytes)
            return stored
        size_bytes = -(-size_bytes // 512) * 512          # what qemu makes of it
        # After qemu grew it this only reads the size; when the VM is not running, it grows it.
        self.vm_grow(attachment.instance_id, volume_id, size_bytes)
        return self.driver.resize_volume(volume_id, size_bytes)

    def _observed(self, volume_id: str, stored: StoredVolume, state: str = AVAILABLE) -> ObservedVolume:
        row = self.journal.volume(volume_id)
        attachment = self.journal.attachment(volume_id)
        return ObservedVolume(volume_id, state, stored.size_bytes, stored.used_bytes,
                              row.revert_generation if row else 0,
                              attachment.instance_id if attachment else "")

    def remove_volume(self, volume_id: str) -> bool:
        with self._lock:
            attachment = self.journal.attachment(volume_id)
            if attachment:
                raise Busy(f"volume {volume_id} is mounted for instance {attachment.instance_id}")
            existed = self.driver.delete_volume(volume_id)
            known = self.journal.volume(volume_id) is not None
            self.journal.forget_volume(volume_id)
            return existed or known

    # -- snapshots -------------------------------------------------------------------

    def ensure_snapshot(self, snapshot_id: str, volume_id: str) -> ObservedSnapshot:
        with self._lock:
            rows = {r.snapshot_id: r for r in self.journal.snapshots()}
            row = rows.get(snapshot_id)
            if row is not None and row.state == PRESENT:
                size = next((s.size_bytes for s in self.driver.snapshots() if s.snapshot_id == snapshot_id), 0)
                return ObservedSnapshot(snapshot_id, volume_id, AVAILABLE if size else MISSING, size)
            if self.journal.volume(volume_id) is None:
                raise NotFound(f"volume {volume_id} is not on this host")
            self.journal.put_snapshot(snapshot_id, volume_id, CREATING)
            stored = self.driver.create_snapshot(snapshot_id, volume_id)
            self.journal.put_snapshot(snapshot_id, volume_id, PRESENT)
            return ObservedSnapshot(snapshot_id, volume_id, AVAILABLE, stored.size_bytes)

    def remove_snapshot(self, snapshot_id: str) -> bool:
        with self._lock:
            existed = self.driver.delete_snapshot(snapshot_id)
            known = any(r.snapshot_id == snapshot_id for r in self.journal.snapshots())
            self.journal.forget_snapshot(snapshot_id)
            return existed or known

    # -- what is here ------------------------------------------------------------------

    def observe(self) -> tuple[list[ObservedVolume], list[ObservedSnapshot], PoolUsage]:
        """Every volume and snapshot in the pool or the journal, and the pool's usage."""
        with self._lock:
            stored = {v.volume_id: v for v in self.driver.volumes()}
            volumes = []
            for row in self.journal.volumes():
                item = stored.pop(row.volume_id, None)
                if item is not None:
                    volumes.append(self._observed(row.volume_id, item))
                elif row.state == CREATING:
                    volumes.append(ObservedVolume(row.volume_id, CREATING))
                else:
                    volumes.append(ObservedVolume(row.volume_id, MISSING, row.size_bytes,
                                                  reason="journalled but gone from the storage pool"))
            volumes += [ObservedVolume(v.volume_id, UNKNOWN, v.size_bytes, v.used_bytes,
                                       reason="not created by this agent") for v in stored.values()]
            stored_snaps = {s.snapshot_id: s for s in self.driver.snapshots()}
            snapshots = []
            for row in self.journal.snapshots():
                item = stored_snaps.pop(row.snapshot_id, None)
                if item is not None:
                    snapshots.append(ObservedSnapshot(row.snapshot_id, row.volume_id, AVAILABLE,
                                                      item.size_bytes))
                else:
                    snapshots.append(ObservedSnapshot(row.snapshot_id, row.volume_id,
                                                      CREATING if row.state == CREATING else MISSING))
            snapshots += [ObservedSnapshot(s.snapshot_id, s.volume_id, UNKNOWN, s.size_bytes,
                                           "not created by this agent") for s in stored_snaps.values()]
            return volumes, snapshots, self.driver.pool()

    # -- mounts for containers ------------------------------------------------------------

    def mountpoint(self, volume_id: str) -> Path:
        return self.mount_root / volume_id

    def mount_for(self, instance_id: str, wanted: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Mount each (volume id, path in the instance) on the host; (host dir, path) pairs.

        A volume mounted for another instance is Busy. If one fails, the ones this
        call mounted are unmounted again.
        """
        mounted_here: list[str] = []
        binds = []
        with self._lock:
            try:
                for volume_id, path in wanted:
                    row = self.journal.volume(volume_id)
                    if row is None or row.state != PRESENT:
                        raise NotFound(f"volume {volume_id} is not on this host (yet)")
                    attachment = self.journal.attachment(volume_id)
                    if attachment and attachment.instance_id != instance_id:
                        raise Busy(f"volume {volume_id} is mounted for instance {attachment.instance_id}")
                    mountpoint = self.mountpoint(volume_id)
                    if not (attachment and filesystem.is_mounted(mountpoint)):
                        device = self.driver.open_block(volume_id)
                        self.journal.put_attachment(Attachment(volume_id, instance_id, path, str(mountpoint)))
                        mounted_here.append(volume_id)
                        filesystem.mount(device, mountpoint, volume_id)
                    binds.append((str(mountpoint), path))
            except Exception:
                for volume_id in mounted_here:
                    self._unmount(volume_id)
                raise
        return binds

    def open_for_vm(self, instance_id: str, volume_ids: list[str]) -> list[tuple[str, VmDisk]]:
        """(volume id, what the VM attaches) for each volume, journalled as the VM's (no mount).

        A volume attached to another instance is Busy; one not (yet) here is NotFound.
        `settle` and `release` undo it as for a container's volumes."""
        disks = []
        with self._lock:
            for volume_id in volume_ids:
                row = self.journal.volume(volume_id)
                if row is None or row.state != PRESENT:
                    raise NotFound(f"volume {volume_id} is not on this host (yet)")
                attachment = self.journal.attachment(volume_id)
                if attachment and attachment.instance_id != instance_id:
                    raise Busy(f"volume {volume_id} is attached to instance {attachment.instance_id}")
                disk = self.driver.vm_disk(volume_id)
                if attachment is None:
                    self.journal.put_attachment(Attachment(volume_id, instance_id, "", ""))
                disks.append((volume_id, disk))
        return disks

    def settle(self, instance_id: str, keep: set[str]) -> None:
        """Unmount the volumes mounted for `instance_id` that it no longer has."""
        with self._lock:
            for attachment in self.journal.attachments(instance_id):
                if attachment.volume_id not in keep:
                    self._unmount(attachment.volume_id)

    def release(self, instance_id: str) -> None:
        self.settle(instance_id, set())

    def _unmount(self, volume_id: str) -> None:
        filesystem.unmount(self.mountpoint(volume_id))
        try:
            self.driver.close_block(volume_id)
        except NotFound:
            pass
        self.journal.forget_attachment(volume_id)
