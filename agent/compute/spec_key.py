"""The agent's spec-hash key: 32 random bytes in `<data_dir>/spec-hash.key`, mode 0600.

An instance's spec hash is stored where others can read it (a Docker label, a libvirt
metadata element, the journal) and covers environment values the leader filled from
secrets. Keyed (HMAC-SHA256), the hash tells nobody without this key anything about
those values; the key is made once and read again by a restarted agent, so the
containers it adopts keep their hash.
"""
from __future__ import annotations

import os
from pathlib import Path

from common.errors import FailedPrecondition

KEY_FILE = "spec-hash.key"
KEY_BYTES = 32


def load_spec_key(data_dir: Path | str) -> bytes:
    """The key in `data_dir`, created (0600, written once, atomically) when missing;
    FailedPrecondition when it cannot be read or made, or is not a key."""
    path = Path(data_dir) / KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = _create(path)
    except OSError as err:
        raise FailedPrecondition(f"spec-hash key {path}: {err.strerror or err}") from None
    if len(key) != KEY_BYTES:
        raise FailedPrecondition(f"{path}: expected {KEY_BYTES} bytes, found {len(key)}; remove it to "
                         "make a new key (every instance's runtime object is recreated once)")
    return key


def _create(path: Path) -> bytes:
    key = os.urandom(KEY_BYTES)
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link, not rename: when two agents race on one data dir, the first key wins.
        os.link(partial, path)
    except FileExistsError:
        key = path.read_bytes()
    finally:
        partial.unlink()
    return key
