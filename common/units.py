"""Sizes as people write them ("128M", "2G", "512MiB")."""
from __future__ import annotations

import re

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtKMGT]?)(i?[bB]?)\s*$")
_FACTORS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """Bytes in `text`; suffixes K, M, G, T are powers of 1024. Raises ValueError."""
    match = _SIZE_RE.match(str(text))
    if not match:
        raise ValueError(f"cannot parse size {text!r} (try 128M, 2G)")
    number, unit, _ = match.groups()
    return int(float(number) * _FACTORS[unit.lower()])


def format_size(n: int) -> str:
    for unit in ("T", "G", "M", "K"):
        factor = _FACTORS[unit.lower()]
        if abs(n) >= factor:
            value = n / factor
            return f"{value:.0f}{unit}" if value == int(value) else f"{value:.1f}{unit}"
    return f"{n}B"
