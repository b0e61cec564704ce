"""Checks of public API input; each failure names the field."""
from __future__ import annotations

import re

from common.errors import InvalidArgument
from common.ids import check_labels, check_name
from scheduler.api import network_input, placement_input, secret_input, volume_input
from scheduler.api import vm_input, vm_secret_input
from scheduler.state import records as r

IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/-]{0,254}(:[A-Za-z0-9._-]{1,128})?(@sha256:[a-f0-9]{64})?\Z")
ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
KINDS = ("container", "vm")
MAX_VCPUS, MAX_MEMORY, MIN_MEMORY = 512, 16 * 1024**4, 6 * 1024**2
MAX_DISK = 1024**5


MAX_TIMESTAMP_SECONDS = 253_402_300_799   # 9999-12-31T23:59:59Z, the last a Timestamp can hold


def timestamp_ms(value, field: str) -> int:
    """Milliseconds since the epoch of a Timestamp message, not before 1970."""
    if not 0 <= value.seconds <= MAX_TIMESTAMP_SECONDS or not 0 <= value.nanos < 1_000_000_000:
        raise InvalidArgument(field, "is not a valid timestamp between 1970 and 9999")
    return value.ToMilliseconds()


def project(value: str) -> str:
    return check_name(value or "default", "project")


def instance_spec(spec) -> dict:
    """A validated spec dict from an InstanceSpec message."""
    kind = spec.kind or "container"
    if kind not in KINDS:
        raise InvalidArgument("spec.kind", f"{kind!r} is not supported (supported: {', '.join(KINDS)})")
    if not spec.image:
        raise InvalidArgument("spec.image", "is required")
    if not IMAGE_RE.match(spec.image):
        raise InvalidArgument("spec.image", f"{spec.image!r} is not a valid image reference")
    if not 1 <= spec.vcpus <= MAX_VCPUS:
        raise InvalidArgument("spec.vcpus", f"must be between 1 and {MAX_VCPUS}, not {spec.vcpus}")
    if not MIN_MEMORY <= spec.memory_bytes <= MAX_MEMORY:
        raise InvalidArgument("spec.memory_bytes",
                              f"must be between 6 MiB and 16 TiB, not {spec.memory_bytes} bytes")
    if not 0 <= spec.disk_bytes <= MAX_DISK:
        raise InvalidArgument("spec.disk_bytes", f"must be between 0 and 1 PiB, not {spec.disk_bytes}")
    if any(not arg for arg in spec.command) or len(spec.command) > 256:
        raise InvalidArgument("spec.command", "arguments must be non-empty (at most 256)")
    for key in spec.env:
        if not ENV_KEY_RE.match(key):
            raise InvalidArgument("spec.env", f"invalid variable name {key!r}")
    policy = spec.restart_policy or "never"
    if policy not in r.RESTART_POLICIES:
        raise InvalidArgument("spec.restart_policy", f"must be one of {', '.join(r.RESTART_POLICIES)}")
    return {
        "kind": kind, "image": spec.image, "vcpus": spec.vcpus, "memory_bytes": spec.memory_bytes,
        "disk_bytes": spec.disk_bytes, "command": list(spec.command), "env": dict(spec.env),
        "restart_policy": policy, "host_labels": check_labels(dict(spec.host_labels), "spec.host_labels"),
        **network_input.instance_network(spec),
        **placement_input.instance_placement(spec),
        **secret_input.instance_secrets(spec),
        **volume_input.instance_volumes(spec),
        **vm_input.instance_vm(spec),
        **vm_secret_input.instance_secret_files(spec),
    }


def page(page_size: int, page_token: str) -> tuple[int, int]:
    if page_size < 0 or page_size > 1000:
        raise InvalidArgument("page_size", "must be between 0 and 1000")
    try:
        offset = int(page_token) if page_token else 0
    except ValueError:
        raise InvalidArgument("page_token", "is not a token this server issued") from None
    if offset < 0:
        raise InvalidArgument("page_token", "is not a token this server issued")
    return page_size or 100, offset


def window(chosen: list, size: int, offset: int) -> tuple[list, str]:
    """The page of `chosen` that `page()` asked for, and the next page's token ("" at the end)."""
    return chosen[offset:offset + size], (str(offset + size) if offset + size < len(chosen) else "")
