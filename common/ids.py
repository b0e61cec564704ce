"""Identifiers and names."""
from __future__ import annotations

import re
import secrets
import uuid

from common.errors import InvalidArgument

NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z")
LABEL_KEY_RE = re.compile(r"^[a-z0-9A-Z]([-_./a-zA-Z0-9]{0,61}[a-zA-Z0-9])?\Z")


def new_id(prefix: str) -> str:
    """A cluster-unique id such as "i-3f9a1c0b7e2d4a51"."""
    return f"{prefix}-{secrets.token_hex(8)}"


def new_request_id() -> str:
    return uuid.uuid4().hex


def check_name(value: str, field: str = "name") -> str:
    """Names are DNS labels: 1-63 of a-z, 0-9 and '-', not starting or ending with '-'."""
    if not value:
        raise InvalidArgument(field, "is required")
    if not NAME_RE.match(value):
        raise InvalidArgument(
            field, f"{value!r} is not a valid name (1-63 lowercase letters, digits or '-', "
                   "starting and ending with a letter or digit)")
    return value


def check_labels(labels: dict[str, str], field: str = "labels") -> dict[str, str]:
    if len(labels) > 64:
        raise InvalidArgument(field, "at most 64 labels")
    for key, value in labels.items():
        if not LABEL_KEY_RE.match(key):
            raise InvalidArgument(field, f"invalid label key {key!r}")
        if len(value) > 253:
            raise InvalidArgument(field, f"label {key!r} value is longer than 253 characters")
    return dict(labels)
