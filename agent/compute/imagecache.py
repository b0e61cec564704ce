"""The host's image cache: every file fetched once, verified by sha256, kept.

Files are stored under their checksum, so two images with the same bytes share
one copy and a cached file never needs checking against its source again. A VM
never boots its base image: it gets a qcow2 overlay with the base as backing file.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from common import diskimage

_CHUNK = 1024 * 1024
FETCH_TIMEOUT = 60.0


class ImageError(Exception):
    """An image cannot be used (fetch failed, checksum mismatch, bad format); says why."""


@dataclass(frozen=True)
class ImageFileRef:
    url: str
    sha256: str
    size_bytes: int = 0


def _open_source(url: str):
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return open(urllib.parse.unquote(parsed.path), "rb")
    if parsed.scheme in ("http", "https"):
        return urllib.request.urlopen(url, timeout=FETCH_TIMEOUT)  # noqa: S310 - scheme checked
    raise ImageError(f"cannot fetch {url!r}: only file://, http:// and https:// are supported")


class ImageCache:
    """Files under `root`, named by sha256; readable by the qemu user (0644 in a 0755 dir)."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def path(self, sha256: str) -> Path:
        return self.root / sha256

    def cached(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir()
                      if len(p.name) == 64 and not p.name.startswith("."))

    @contextlib.contextmanager
    def _lock(self, sha256: str):
        with self._guard:
            lock = self._locks.setdefault(sha256, threading.Lock())
        # The file lock keeps two agents sharing one cache from fetching the same file twice.
        with lock, open(self.root / f".{sha256}.lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def fetch(self, ref: ImageFileRef) -> Path:
        """The cached file for `ref`, fetched and verified first if missing. Raises ImageError."""
        sha256 = ref.sha256.lower()
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ImageError(f"{ref.url}: {ref.sha256!r} is not a sha256 checksum")
        target = self.path(sha256)
        if target.exists():
            return target
        with self._lock(sha256):
            if target.exists():
                return target
            partial = self.root / f".{sha256}.part"
            digest = hashlib.sha256()
            size = 0
            try:
                with _open_source(ref.url) as source, open(partial, "wb") as out:
                    while chunk := source.read(_CHUNK):
                        digest.update(chunk)
                        size += len(chunk)
                        out.write(chunk)
                    out.flush()
                    os.fsync(out.fileno())
            except (OSError, ValueError) as err:
                partial.unlink(missing_ok=True)
                raise ImageError(f"cannot fetch {ref.url}: {err}") from None
            if digest.hexdigest() != sha256:
                partial.unlink(missing_ok=True)
                raise ImageError(f"checksum mismatch for {ref.url}: expected sha256 {sha256}, "
                                 f"got {digest.hexdigest()}")
            partial.chmod(0o644)
            os.replace(partial, target)
            return target


def create_overlay(base: Path, base_format: str, overlay: Path, size_bytes: int) -> None:
    """A qcow2 at `overlay` backed by `base` (never written), `size_bytes` big (0: the base's size).

    Raises ImageError when the base is not what it claims or is bigger than `size_bytes`.
    """
    info = diskimage.inspect(base)
    if info.format != base_format:
        raise ImageError(f"image is {info.format}, not {base_format} as registered")
    if info.has_backing_file:
        # A backing file inside an image could point anywhere on the host.
        raise ImageError("image has a backing file of its own; flatten it before importing")
    if size_bytes and size_bytes < info.virtual_size:
        raise ImageError(f"disk of {size_bytes} bytes is smaller than the image "
                         f"({info.virtual_size} bytes)")
    qemu_img = shutil.which("qemu-img")
    if qemu_img is None:
        raise ImageError("qemu-img is not installed on this host")
    argv = [qemu_img, "create", "-q", "-f", "qcow2", "-b", str(base), "-F", base_format, str(overlay)]
    if size_bytes:
        argv.append(str(size_bytes))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        overlay.unlink(missing_ok=True)
        raise ImageError(f"qemu-img create failed: {proc.stderr.strip()}")
