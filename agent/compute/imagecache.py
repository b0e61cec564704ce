"""The host's image cache: every file fetched once, verified by sha256, kept.

Files are stored under their checksum, so two images with the same bytes share
one copy and a cached file never needs checking against its source again. A VM
never boots its base image: it gets a qcow2 overlay with the base as backing file.
"""
from __future__ import annotations

import contextlib
import fcntl
import grp
import hashlib
import http.client
import os
import pwd
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

from agent.compute.imagefetch import FetchFailed, FetchPolicy, FetchRefused, open_file, open_web
from common import diskimage, imageurl
from common.errors import InvalidArgument

_CHUNK = 1024 * 1024
QEMU_USERS = ("libvirt-qemu", "qemu")      # Debian's name for the user qemu runs as, then Fedora's


class ImageError(Exception):
    """An image cannot be used (fetch failed, checksum mismatch, bad format); says why."""


@dataclass(frozen=True)
class ImageFileRef:
    url: str
    sha256: str
    size_bytes: int = 0


def qemu_group() -> int | None:
    """The group libvirt runs qemu as (Debian's qemu.conf: libvirt-qemu, the user's own
    group; narrower than its primary group kvm, which /dev/kvm users share), else that
    user's primary group; None when there is no qemu user here."""
    for name in QEMU_USERS:
        with contextlib.suppress(KeyError):
            user = pwd.getpwnam(name)
            with contextlib.suppress(KeyError):
                group = grp.getgrnam(name)
                if name in group.gr_mem or group.gr_gid == user.pw_gid:
                    return group.gr_gid
            return user.pw_gid
    return None


@contextlib.contextmanager
def _open_source(ref: ImageFileRef, policy: FetchPolicy, limit: int):
    try:
        url = imageurl.parse(ref.url, "url")
    except InvalidArgument as err:
        raise ImageError(f"cannot fetch {ref.url!r}: {err}") from None
    try:
        if url.is_file:
            with open_file(policy, url.path) as source:
                yield source
        else:
            with open_web(policy, url, limit) as source:
                yield source
    except (FetchRefused, FetchFailed) as err:
        raise ImageError(f"cannot fetch {url.url}: {err}") from None


class ImageCache:
    """Files under `root`, named by sha256, readable by root and the qemu user's group only.

    qemu (its own user) opens the base image through each overlay's backing chain and
    the kernel and initrd of a direct boot, and libvirt does not relabel directories:
    so the directory is 0750 and each file 0640, both owned root:<qemu group>. Where no
    qemu user exists, nobody but root needs them: 0700 and 0600.
    """

    def __init__(self, root: Path, policy: FetchPolicy | None = None):
        self.root = Path(root)
        self.policy = policy or FetchPolicy()
        self.group = qemu_group()
        self.root.mkdir(parents=True, exist_ok=True)
        self._own(self.root, 0o750 if self.group is not None else 0o700)
        for path in self.root.iterdir():
            if len(path.name) == 64 and path.is_file():
                self._tighten(path)
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @property
    def _file_mode(self) -> int:
        return 0o640 if self.group is not None else 0o600

    def _own(self, path: Path, mode: int) -> None:
        if self.group is not None and os.geteuid() == 0:
            os.chown(path, 0, self.group)
        path.chmod(mode)

    def _tighten(self, path: Path) -> None:
        """A file cached by an older agent (0644 root:root) gets today's mode and group.
        A file libvirt has handed to qemu's user keeps its owner: libvirt counts the
        domains using it and refuses to start another one on a file whose owner changed
        under it ("Setting different DAC user or group … already in use")."""
        info = path.stat()
        if info.st_uid == 0 and info.st_gid == 0:
            self._own(path, self._file_mode)
        else:
            path.chmod(self._file_mode)

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
            self._download(ref, sha256, target)
            return target

    def _download(self, ref: ImageFileRef, sha256: str, target: Path) -> None:
        limit = min(self.policy.max_bytes, ref.size_bytes) if ref.size_bytes > 0 \
            else self.policy.max_bytes
        partial = self.root / f".{sha256}.part"
        digest = hashlib.sha256()
        size = 0
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
            with _open_source(ref, self.policy, limit) as source, open(fd, "wb") as out:
                while chunk := source.read(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise ImageError(f"cannot fetch {ref.url}: more than {limit} bytes (the "
                                         "size it was registered with, or image_max_bytes)")
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except (OSError, ValueError, http.client.HTTPException) as err:
            partial.unlink(missing_ok=True)
            raise ImageError(f"cannot fetch {ref.url}: {err}") from None
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        if digest.hexdigest() != sha256:
            partial.unlink(missing_ok=True)
            # Never the digest computed: with it, a caller who can point an import at a
            # file it cannot read would learn that file's checksum.
            raise ImageError(f"checksum mismatch: the bytes at {ref.url} are not the ones "
                             "registered for this image")
        self._own(partial, self._file_mode)
        os.replace(partial, target)


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
