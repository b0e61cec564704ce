"""What qemu said when a domain failed: the first line of the error from libvirt's
per-domain log, never the register dump that follows it.

libvirtd appends to ``<log dir>/<domain>.log`` for every start: a header line
("… starting up libvirt version …"), the command line, then whatever qemu writes
on stderr (timestamped with ``-msg timestamp=on``), and "… shutting down,
reason=…" when it ends. Only the part after the last start counts.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

SYSTEM_LOG_DIR = Path("/var/log/libvirt/qemu")
TAIL_BYTES = 64 * 1024          # the last start's part is a few KiB; dumps can be long

_START = re.compile(r"^\S+ \S+: starting up\b")
_STAMP = re.compile(r"^\d{4}-\d\d-\d\d[T ][\d:.]+(?:Z|[+-]\d{4})?:?\s*")
_QEMU = re.compile(r"qemu-system-[\w-]+: (?:error: )?(?P<message>.+)$")
_KVM_ERROR = re.compile(r"^KVM internal error\. Suberror: \d+")
_DUMP = re.compile(r"^(?:[A-Z0-9]{2,6} ?=|extra data\[|Code=|CPU#\d)")
# qemu's own assertion text after a fatal error says nothing a user can act on, and
# libvirtd ending a qemu it was told to end is no error of qemu's.
_NOISE = re.compile(r"Assertion `|^warning: |: warning: |terminating on signal \d+ from pid \d+ \(libvirtd\)")


def log_path(uri: str, domain_name: str) -> Path:
    """Where libvirtd keeps `domain_name`'s qemu log for a connection to `uri`."""
    if uri.rstrip("/").endswith("/session"):
        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        return cache / "libvirt" / "qemu" / "log" / f"{domain_name}.log"
    return SYSTEM_LOG_DIR / f"{domain_name}.log"


def read_last_start(path: Path) -> str:
    """The log of the domain's last start ("" when there is none)."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    lines = text.splitlines()
    starts = [index for index, line in enumerate(lines) if _START.match(line)]
    return "\n".join(lines[starts[-1]:] if starts else lines)


def failure_reason(text: str) -> str:
    """The first line of qemu's error in `text` (a log or a libvirt error message), or ""."""
    kvm_error = qemu_error = ""
    for raw in text.splitlines():
        line = _STAMP.sub("", raw.strip())
        if not line or _DUMP.match(line) or _NOISE.search(line):
            continue
        if line == "emulation failure" or line.startswith("emulation failure"):
            return "emulation failure"
        if not kvm_error and _KVM_ERROR.match(line):
            kvm_error = line
            continue
        match = _QEMU.search(line)
        if match and not qemu_error:
            qemu_error = match.group("message").strip()
    return kvm_error or qemu_error


def domain_failure(uri: str, domain_name: str) -> str:
    """The reason qemu gave for the domain's last failure, read from its log, or ""."""
    return failure_reason(read_last_start(log_path(uri, domain_name)))
