"""What `cloud image import` registers: a source URL with its checksum, size and format.

The CLI reads the bytes once (a local file, or the URL itself) to compute them, so
the schedulers never see image bytes and every agent can verify what it fetched.
"""
from __future__ import annotations

import hashlib
import struct
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from common import diskimage, imageurl
from common.errors import InvalidArgument

from cli.errors import CliError, UsageError

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class SourceFacts:
    url: str
    sha256: str
    size_bytes: int
    format: str
    virtual_size: int


def file_url(path: str) -> str:
    resolved = Path(path).expanduser().resolve()
    if not resolved.is_file():
        raise UsageError(f"{path}: no such file")
    return "file://" + urllib.parse.quote(str(resolved))


def read_source(url: str) -> SourceFacts:
    """Stream `url` once: sha256, size, and the format and virtual size from its header."""
    try:
        url = imageurl.parse(url, "--url").url
    except InvalidArgument as err:
        raise UsageError(str(err)) from None
    digest = hashlib.sha256()
    size = 0
    header = b""
    try:
        with urllib.request.urlopen(url, timeout=60) as stream:  # noqa: S310 - scheme checked
            while chunk := stream.read(_CHUNK):
                if len(header) < 32:
                    header += chunk[:32 - len(header)]
                digest.update(chunk)
                size += len(chunk)
    except OSError as err:
        raise CliError(f"cannot read {url}: {err}") from None
    fmt, virtual = "raw", size
    if header[:4] == diskimage.QCOW2_MAGIC and len(header) >= 32:
        fmt, virtual = "qcow2", struct.unpack(">Q", header[24:32])[0]
    return SourceFacts(url, digest.hexdigest(), size, fmt, virtual)
