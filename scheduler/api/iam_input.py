"""Checks of IAM input; each failure names the field."""
from __future__ import annotations

from common.errors import InvalidArgument
from common.ids import check_name
from scheduler.auth.permissions import check_permission

MAX_TTL_SECONDS = 10 * 365 * 86400
MAX_PERMISSIONS = 200


def text(value: str, field: str, limit: int) -> str:
    if len(value) > limit:
        raise InvalidArgument(field, f"at most {limit} characters")
    if any(ord(ch) < 32 and ch not in "\t" for ch in value):
        raise InvalidArgument(field, "must not contain control characters")
    return value


def ttl_seconds(value: int) -> int:
    if not 0 <= value <= MAX_TTL_SECONDS:
        raise InvalidArgument("ttl_seconds", f"must be between 0 (never expires) and {MAX_TTL_SECONDS}")
    return value


def permissions(values) -> list[str]:
    values = list(values)
    if not values:
        raise InvalidArgument("permissions", "name at least one, like instance.create or instance.*")
    if len(values) > MAX_PERMISSIONS:
        raise InvalidArgument("permissions", f"at most {MAX_PERMISSIONS}")
    for value in values:
        if not check_permission(value):
            raise InvalidArgument("permissions", f"{value!r} is not <resource>.<verb> "
                                                 "(either part may be *)")
    return sorted(set(values))


def optional_name(value: str, field: str) -> str:
    return check_name(value, field) if value else ""
