"""Argument converters of the IAM commands: durations and quota limits."""
from __future__ import annotations

import argparse
import datetime as dt
import re

from cli import argtypes

_DURATION_RE = re.compile(r"^(\d+)([smhdw])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(text: str) -> int:
    """"30d", "12h", "90m", "45s", "2w" -> seconds; "never" -> 0."""
    if text == "never":
        return 0
    match = _DURATION_RE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 30d, 12h, 90m or never")
    return int(match.group(1)) * _UNITS[match.group(2)]


def since(text: str) -> dt.datetime:
    """A duration back from now ("1h") or an ISO time ("2024-05-01T14:00:00")."""
    if _DURATION_RE.match(text.strip()):
        return dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=duration(text))
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is neither a duration (1h) nor an ISO time") from None
    return when if when.tzinfo else when.astimezone()


def limit(text: str) -> int:
    """A count, or "unlimited" / -1."""
    if text in ("unlimited", "-1"):
        return -1
    return argtypes.non_negative_int(text)


def size_limit(text: str) -> int:
    if text in ("unlimited", "-1"):
        return -1
    return argtypes.size(text)
