"""The filesystem a container sees on a volume: ext4, made on first use, mounted on the host.

Docker gets the mount point as a bind mount. A volume grown while detached has its
filesystem grown when it is next mounted (e2fsck, resize2fs); one grown while
mounted is grown online where the kernel allows it.
"""
from __future__ import annotations

import subprocess
from pathlib import Path

from agent.storage.base import Busy, StorageError


def _run(argv: list[str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        message = f"{what}: {detail[-1] if detail else 'failed'}"
        raise (Busy if "busy" in message.lower() else StorageError)(message)
    return proc


def fs_type(device: Path) -> str:
    """The filesystem on `device` ("" when it has none)."""
    proc = subprocess.run(["blkid", "-p", "-o", "value", "-s", "TYPE", str(device)],
                          capture_output=True, text=True, check=False)
    return proc.stdout.strip()


def is_mounted(mountpoint: Path) -> bool:
    target = str(Path(mountpoint))
    with open("/proc/self/mounts") as mounts:
        return any(len(f) > 1 and f[1] == target for f in (line.split() for line in mounts))


def _fs_bytes(device: Path) -> int:
    out = _run(["dumpe2fs", "-h", str(device)], f"dumpe2fs {device}").stdout
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    return int(fields["Block count"]) * int(fields["Block size"])


def _device_bytes(device: Path) -> int:
    return int(_run(["blockdev", "--getsize64", str(device)], f"blockdev {device}").stdout)


def mount(device: Path, mountpoint: Path, label: str = "") -> None:
    """Format `device` as ext4 when it has no filesystem, grow the filesystem to the
    device when the volume grew, then mount it (idempotent)."""
    mountpoint = Path(mountpoint)
    if is_mounted(mountpoint):
        return
    mountpoint.mkdir(parents=True, exist_ok=True)
    if not fs_type(device):
        # lazy init: formatting a large thin volume must not write all of it.
        _run(["mkfs.ext4", "-q", "-F", "-E", "lazy_itable_init=1,lazy_journal_init=1",
              *(["-L", label[:16]] if label else []), str(device)], f"mkfs.ext4 {device}")
    elif _fs_bytes(device) < _device_bytes(device):
        # Grown while detached: offline resize needs a fresh check first (exit 1: fixed).
        proc = subprocess.run(["e2fsck", "-f", "-p", str(device)], capture_output=True, text=True,
                              check=False)
        if proc.returncode not in (0, 1):
            raise StorageError(f"e2fsck {device}: exit {proc.returncode}: {proc.stdout.strip()[-200:]}")
        _run(["resize2fs", str(device)], f"resize2fs {device}")
    _run(["mount", "-t", "ext4", str(device), str(mountpoint)], f"mount {device}")


def grow(device: Path) -> bool:
    """Grow the mounted ext4 on `device` online; False when the kernel refuses (the next
    mount grows it offline)."""
    proc = subprocess.run(["resize2fs", str(device)], capture_output=True, text=True, check=False)
    return proc.returncode == 0


def unmount(mountpoint: Path) -> None:
    mountpoint = Path(mountpoint)
    if is_mounted(mountpoint):
        _run(["umount", str(mountpoint)], f"umount {mountpoint}")
    if mountpoint.exists():
        try:
            mountpoint.rmdir()
        except OSError:
            pass
