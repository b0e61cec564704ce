"""The narrow interface every storage driver implements, and the data it speaks.

Every method is idempotent and keyed by the cluster's ids (volume "v-…",
snapshot "s-…"). Drivers raise the StorageError subclasses below; the agent's
servicer maps them to gRPC statuses.
"""
from __future__ import annotations

import abc
import re
from dataclasses import dataclass
from pathlib import Path

_ID_RE = re.compile(r"^[a-z]-[0-9a-f]{4,32}\Z")


class StorageError(Exception):
    """The storage engine refused or failed; the message says what and why."""


class NotFound(StorageError):
    pass


class NoSpace(StorageError):
    """The pool cannot hold what was asked."""


class Busy(StorageError):
    """The volume is in use (mounted, exported) and the operation needs it idle."""


class InvalidRequest(StorageError):
    """A size or id the driver cannot accept (e.g. shrinking)."""


def check_id(value: str, field: str = "id") -> str:
    """Ids become LV and file names: keep them to what both accept."""
    if not _ID_RE.match(value or ""):
        raise InvalidRequest(f"{field}: {value!r} is not a volume or snapshot id")
    return value


@dataclass(frozen=True)
class PoolUsage:
    """The pool's size and what is really written in it (thin: used <= provisioned)."""

    driver: str
    total_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class StoredVolume:
    volume_id: str
    size_bytes: int
    used_bytes: int = 0
    origin_snapshot: str = ""        # the snapshot it was cloned from or last reverted to


@dataclass(frozen=True)
class VmDisk:
    """What a VM's qemu opens for a volume: a block device (raw), or an image file it
    opens itself (then qemu, not the driver, grows it while the VM runs)."""

    path: str
    source_type: str = "block"       # "block" or "file"
    format: str = "raw"


@dataclass(frozen=True)
class StoredSnapshot:
    snapshot_id: str
    volume_id: str
    size_bytes: int


class StorageDriver(abc.ABC):
    """Volumes and snapshots in one pool on this host."""

    name = ""

    @abc.abstractmethod
    def pool(self) -> PoolUsage:
        """Capacity and real use of the pool."""

    @abc.abstractmethod
    def create_volume(self, volume_id: str, size_bytes: int) -> StoredVolume:
        """An empty volume of `size_bytes` (rounded up to the driver's unit); existing: returned as is."""

    @abc.abstractmethod
    def clone_volume(self, volume_id: str, snapshot_id: str, size_bytes: int) -> StoredVolume:
        """A new volume with the snapshot's content, in constant time; grown to `size_bytes` if larger."""

    @abc.abstractmethod
    def create_snapshot(self, snapshot_id: str, volume_id: str) -> StoredSnapshot:
        """A point-in-time copy of the volume, in constant time."""

    @abc.abstractmethod
    def resize_volume(self, volume_id: str, size_bytes: int) -> StoredVolume:
        """Grow to `size_bytes`; InvalidRequest for a shrink. The filesystem is not touched."""

    @abc.abstractmethod
    def revert_volume(self, volume_id: str, snapshot_id: str) -> StoredVolume:
        """Make the volume's content the snapshot's again (the volume must not be in use)."""

    @abc.abstractmethod
    def delete_volume(self, volume_id: str) -> bool:
        """Remove the volume (not its snapshots); whether it existed. Busy while in use."""

    @abc.abstractmethod
    def delete_snapshot(self, snapshot_id: str) -> bool:
        """Remove the snapshot; volumes cloned from it keep their data. Whether it existed."""

    @abc.abstractmethod
    def volumes(self) -> list[StoredVolume]:
        """Every volume this driver manages in its pool (by its naming), known to the agent or not."""

    @abc.abstractmethod
    def snapshots(self) -> list[StoredSnapshot]:
        """Every snapshot this driver manages in its pool."""

    @abc.abstractmethod
    def open_block(self, volume_id: str) -> Path:
        """A block device with the volume's content (activated or exported); idempotent."""

    @abc.abstractmethod
    def close_block(self, volume_id: str) -> None:
        """Undo open_block (after the filesystem on it is unmounted); idempotent."""

    def vm_disk(self, volume_id: str) -> VmDisk:
        """What a VM attaches for the volume; by default the block device of open_block."""
        return VmDisk(str(self.open_block(volume_id)))
