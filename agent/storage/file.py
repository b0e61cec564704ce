"""The file storage driver: qcow2 files in a directory, for hosts without LVM.

A volume is the chain ending in ``vol-<volume id>.qcow2``. A snapshot turns the
volume's current file into ``snap-<snapshot id>.<volume id>.qcow2`` and puts a
new empty overlay on it; a clone or a revert is a new overlay whose backing file
is the snapshot. Each is a rename and a `qemu-img create`: constant time,
whatever the volume holds. Deleting a snapshot folds its data into the files
that use it as their backing file (`qemu-img rebase`), so clones keep their data.

Every step that changes the chain goes through a ``.next`` file and a rename, so
`volumes()` can finish or undo a step a crash cut short.

For a container the volume is exported as a raw file by `qemu-storage-daemon`
(FUSE) and attached to a loop device. qemu takes a write lock on an image in
use, so snapshots, reverts, resizes and deletes of an exported volume are Busy.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Sequence

from agent.storage.base import (Busy, InvalidRequest, NoSpace, NotFound, PoolUsage, StorageDriver,
                                StorageError, StoredSnapshot, StoredVolume, VmDisk, check_id)

EXPORT_WAIT = 10.0


def _run(argv: Sequence[str], what: str) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        message = f"{what}: {detail[-1] if detail else 'failed'}"
        if "lock" in message.lower():
            raise Busy(message)
        if "no space" in message.lower():
            raise NoSpace(message)
        raise StorageError(message)
    return proc.stdout


class FileDriver(StorageDriver):
    name = "file"

    def __init__(self, root: Path, capacity_bytes: int = 0):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.exports = self.root / "exports"
        self.exports.mkdir(exist_ok=True)
        self.capacity_bytes = capacity_bytes

    # -- names ---------------------------------------------------------------------

    def volume_file(self, volume_id: str) -> Path:
        return self.root / f"vol-{volume_id}.qcow2"

    def _snapshot_file(self, snapshot_id: str) -> Path | None:
        found = sorted(self.root.glob(f"snap-{snapshot_id}.*.qcow2"))
        return found[0] if found else None

    def _new_snapshot_file(self, snapshot_id: str, volume_id: str) -> Path:
        return self.root / f"snap-{snapshot_id}.{volume_id}.qcow2"

    @staticmethod
    def _next(path: Path) -> Path:
        return path.with_name(path.name + ".next")

    def _export_file(self, volume_id: str) -> Path:
        return self.exports / f"vol-{volume_id}.raw"

    def _pid_file(self, volume_id: str) -> Path:
        return self.exports / f"vol-{volume_id}.pid"

    # -- qemu-img ------------------------------------------------------------------

    @staticmethod
    def _info(path: Path) -> dict:
        return json.loads(_run(["qemu-img", "info", "-U", "--output=json", str(path)],
                               f"qemu-img info {path.name}"))

    def _overlay(self, path: Path, backing: Path, size_bytes: int = 0) -> None:
        """A new qcow2 at `path` on `backing` (a file name relative to the pool directory)."""
        argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing.name, str(path)]
        if size_bytes:
            argv.append(str(size_bytes))
        _run(argv, f"qemu-img create {path.name}")

    def _check_idle(self, volume_id: str, action: str) -> None:
        if self._exported(volume_id):
            raise Busy(f"volume {volume_id} is in use; detach it to {action} it "
                       "(the file driver needs it idle)")

    # -- the pool ----------------------------------------------------------------------

    def pool(self) -> PoolUsage:
        stat = os.statvfs(self.root)
        total = self.capacity_bytes or stat.f_blocks * stat.f_frsize
        used = sum(p.stat().st_blocks * 512 for p in self.root.glob("*.qcow2"))
        return PoolUsage(self.name, total, used)

    # -- volumes and snapshots ---------------------------------------------------------

    def _stored(self, volume_id: str) -> StoredVolume:
        path = self.volume_file(volume_id)
        if not path.exists():
            raise NotFound(f"volume {volume_id} does not exist")
        info = self._info(path)
        backing = info.get("backing-filename", "")
        origin = backing.split(".")[0].removeprefix("snap-") if backing.startswith("snap-") else ""
        return StoredVolume(volume_id, int(info["virtual-size"]), path.stat().st_blocks * 512, origin)

    def create_volume(self, volume_id: str, size_bytes: int) -> StoredVolume:
        check_id(volume_id, "volume_id")
        if size_bytes <= 0:
            raise InvalidRequest(f"size must be positive, not {size_bytes}")
        path = self.volume_file(volume_id)
        if path.exists():
            return self._stored(volume_id)
        staging = self._next(path)
        _run(["qemu-img", "create", "-q", "-f", "qcow2", str(staging), str(size_bytes)],
             f"qemu-img create {path.name}")
        staging.rename(path)
        return StoredVolume(volume_id, size_bytes)

    def clone_volume(self, volume_id: str, snapshot_id: str, size_bytes: int) -> StoredVolume:
        check_id(volume_id, "volume_id")
        check_id(snapshot_id, "snapshot_id")
        path = self.volume_file(volume_id)
        if path.exists():
            return self._stored(volume_id)
        source = self._snapshot_file(snapshot_id)
        if source is None:
            raise NotFound(f"snapshot {snapshot_id} does not exist")
        staging = self._next(path)
        self._overlay(staging, source)
        staging.rename(path)
        if size_bytes:
            return self.resize_volume(volume_id, size_bytes)
        return self._stored(volume_id)

    def create_snapshot(self, snapshot_id: str, volume_id: str) -> StoredSnapshot:
        check_id(snapshot_id, "snapshot_id")
        check_id(volume_id, "volume_id")
        existing = self._snapshot_file(snapshot_id)
        if existing is not None:
            return StoredSnapshot(snapshot_id, volume_id, int(self._info(existing)["virtual-size"]))
        path = self.volume_file(volume_id)
        if not path.exists():
            raise NotFound(f"volume {volume_id} does not exist")
        self._check_idle(volume_id, "snapshot")
        size = int(self._info(path)["virtual-size"])
        target = self._new_snapshot_file(snapshot_id, volume_id)
        staging = self._next(path)
        # -u: the backing file gets its name only in the next step.
        _run(["qemu-img", "create", "-q", "-f", "qcow2", "-u", "-F", "qcow2", "-b", target.name,
              str(staging), str(size)], f"qemu-img create {staging.name}")
        path.rename(target)
        staging.rename(path)
        return StoredSnapshot(snapshot_id, volume_id, size)

    def resize_volume(self, volume_id: str, size_bytes: int) -> StoredVolume:
        check_id(volume_id, "volume_id")
        current = self._stored(volume_id)
        if size_bytes < current.size_bytes:
            raise InvalidRequest(f"volume {volume_id} is {current.size_bytes} bytes; "
                                 f"it cannot shrink to {size_bytes}")
        if size_bytes == current.size_bytes:
            return current
        self._check_idle(volume_id, "resize")
        _run(["qemu-img", "resize", "-q", str(self.volume_file(volume_id)), str(size_bytes)],
             f"qemu-img resize vol-{volume_id}")
        return self._stored(volume_id)

    def revert_volume(self, volume_id: str, snapshot_id: str) -> StoredVolume:
        check_id(volume_id, "volume_id")
        check_id(snapshot_id, "snapshot_id")
        source = self._snapshot_file(snapshot_id)
        if source is None:
            raise NotFound(f"snapshot {snapshot_id} does not exist")
        current = self._stored(volume_id)
        self._check_idle(volume_id, "revert")
        path = self.volume_file(volume_id)
        staging = self._next(path)
        # The volume keeps the size it has: a grown volume stays grown.
        self._overlay(staging, source, current.size_bytes)
        staging.replace(path)
        return self._stored(volume_id)

    def delete_volume(self, volume_id: str) -> bool:
        check_id(volume_id, "volume_id")
        path = self.volume_file(volume_id)
        if not path.exists():
            return False
        self._check_idle(volume_id, "delete")
        path.unlink()
        return True

    def _children(self, path: Path) -> list[Path]:
        return [p for p in self.root.glob("*.qcow2")
                if p != path and self._info(p).get("backing-filename") == path.name]

    def delete_snapshot(self, snapshot_id: str) -> bool:
        check_id(snapshot_id, "snapshot_id")
        path = self._snapshot_file(snapshot_id)
        if path is None:
            return False
        backing = self._info(path).get("backing-filename", "")
        for child in self._children(path):
            if child.name.startswith("vol-"):
                self._check_idle(child.name[4:-6], "delete a snapshot under")
            # Safe-mode rebase copies what the child still reads from the snapshot.
            _run(["qemu-img", "rebase", "-q", "-f", "qcow2", "-F", "qcow2", "-b", backing, str(child)]
                 if backing else ["qemu-img", "rebase", "-q", "-f", "qcow2", "-b", "", str(child)],
                 f"qemu-img rebase {child.name}")
        path.unlink()
        return True

    def _recover(self) -> None:
        """Finish or undo a chain step a crash cut short (see the module docstring)."""
        for staging in self.root.glob("*.qcow2.next"):
            final = staging.with_name(staging.name.removesuffix(".next"))
            if final.exists():
                staging.unlink()        # the step never got past creating its new file
            else:
                staging.rename(final)   # the old file was already renamed to a snapshot

    def volumes(self) -> list[StoredVolume]:
        self._recover()
        return [self._stored(p.name[4:-6]) for p in sorted(self.root.glob("vol-*.qcow2"))]

    def snapshots(self) -> list[StoredSnapshot]:
        found = []
        for path in sorted(self.root.glob("snap-*.qcow2")):
            snapshot_id, volume_id = path.name.removeprefix("snap-").removesuffix(".qcow2").split(".", 1)
            found.append(StoredSnapshot(snapshot_id, volume_id, int(self._info(path)["virtual-size"])))
        return found

    def vm_disk(self, volume_id: str) -> VmDisk:
        """A VM's qemu opens the qcow2 chain itself (no export); it holds the image's lock
        while it runs, so a running VM's qemu grows the volume (libvirt blockResize)."""
        check_id(volume_id, "volume_id")
        path = self.volume_file(volume_id)
        if not path.exists():
            raise NotFound(f"volume {volume_id} does not exist")
        self._check_idle(volume_id, "attach")
        return VmDisk(str(path), "file", "qcow2")

    # -- block devices for containers ----------------------------------------------------------

    def _exported(self, volume_id: str) -> bool:
        target = str(self._export_file(volume_id))
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1] == target for line in mounts if len(line.split()) > 1)

    def _loop_of(self, path: Path) -> str:
        out = subprocess.run(["losetup", "-j", str(path), "-n", "-O", "NAME"], capture_output=True,
                             text=True, check=False).stdout.split()
        return out[0] if out else ""

    def open_block(self, volume_id: str) -> Path:
        check_id(volume_id, "volume_id")
        path = self.volume_file(volume_id)
        if not path.exists():
            raise NotFound(f"volume {volume_id} does not exist")
        export = self._export_file(volume_id)
        if not self._exported(volume_id):
            export.touch()
            _run(["qemu-storage-daemon", "--daemonize", "--pidfile", str(self._pid_file(volume_id)),
                  "--blockdev", f"driver=file,filename={path},node-name=file0",
                  "--blockdev", "driver=qcow2,file=file0,node-name=disk0",
                  "--export", f"type=fuse,id=export0,node-name=disk0,mountpoint={export},writable=on"],
                 f"export vol-{volume_id}")
        loop = self._loop_of(export)
        if not loop:
            loop = _run(["losetup", "-f", "--show", str(export)], f"losetup vol-{volume_id}").strip()
        return Path(loop)

    def close_block(self, volume_id: str) -> None:
        check_id(volume_id, "volume_id")
        export = self._export_file(volume_id)
        loop = self._loop_of(export)
        if loop:
            _run(["losetup", "-d", loop], f"losetup -d {loop}")
        pid_file = self._pid_file(volume_id)
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
            except (ProcessLookupError, ValueError):
                pass
        deadline = time.monotonic() + EXPORT_WAIT
        while self._exported(volume_id):
            if time.monotonic() > deadline:
                raise Busy(f"the export of volume {volume_id} did not stop")
            time.sleep(0.05)
        pid_file.unlink(missing_ok=True)
        export.unlink(missing_ok=True)
