"""What a disk image file is: its format and the size of the disk it holds.

Read from the file's header in pure Python so that the CLI (which checks an image
before importing it) needs no qemu-img. Only the formats the cloud accepts.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

FORMATS = ("qcow2", "raw")
QCOW2_MAGIC = b"QFI\xfb"
_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class DiskImageInfo:
    format: str                  # "qcow2" or "raw"
    virtual_size: int            # bytes the guest sees
    has_backing_file: bool = False


def inspect(path: Path | str) -> DiskImageInfo:
    """The format and virtual size of the image at `path` (qcow2 by its magic, else raw)."""
    path = Path(path)
    with open(path, "rb") as f:
        header = f.read(32)
    if header[:4] == QCOW2_MAGIC and len(header) >= 32:
        backing_offset, = struct.unpack(">Q", header[8:16])
        size, = struct.unpack(">Q", header[24:32])
        return DiskImageInfo("qcow2", size, has_backing_file=backing_offset != 0)
    return DiskImageInfo("raw", path.stat().st_size)


def sha256_file(path: Path | str) -> tuple[str, int]:
    """(hex sha256, size in bytes) of the file at `path`."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size
