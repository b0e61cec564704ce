"""Label constraints on hosts: parsed once, checked per host.

Syntax (one expression per constraint):
    zone=a  zone==a       the label equals a value
    gpu!=none             the label is absent or has another value
    zone in a,b           the label is one of the values
    zone notin a,b        the label is absent or none of the values
    ssd                   the label is present
    !ssd                  the label is absent
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from common.errors import InvalidArgument
from common.ids import LABEL_KEY_RE

_SET_RE = re.compile(r"^\s*(\S+)\s+(in|notin)\s+(.+)\Z")
OPS = ("=", "!=", "in", "notin", "exists", "absent")


@dataclass(frozen=True)
class Constraint:
    key: str
    op: str                      # one of OPS
    values: frozenset = frozenset()

    def matches(self, labels: dict) -> bool:
        value = labels.get(self.key)
        if self.op in ("=", "in"):
            return value in self.values
        if self.op in ("!=", "notin"):
            return value not in self.values
        if self.op == "exists":
            return value is not None
        return value is None

    def allowed_values(self) -> frozenset | None:
        """The values a matching host must carry, or None when absence may match."""
        return self.values if self.op in ("=", "in") else None

    def __str__(self) -> str:
        if self.op in ("=", "!="):
            return f"{self.key}{self.op}{next(iter(self.values))}"
        if self.op in ("in", "notin"):
            return f"{self.key} {self.op} {','.join(sorted(self.values))}"
        return self.key if self.op == "exists" else f"!{self.key}"


def _key(key: str, text: str, field: str) -> str:
    if not LABEL_KEY_RE.match(key):
        raise InvalidArgument(field, f"{text!r}: invalid label key {key!r}")
    return key


def parse(text: str, field: str = "spec.constraints") -> Constraint:
    """One constraint; INVALID_ARGUMENT naming `field` when it does not parse."""
    text = text.strip()
    if not text:
        raise InvalidArgument(field, "a constraint must not be empty")
    match = _SET_RE.match(text)
    if match:
        key, op, raw = match.groups()
        values = frozenset(v.strip() for v in raw.split(",") if v.strip())
        if not values:
            raise InvalidArgument(field, f"{text!r}: '{op}' needs at least one value")
        return Constraint(_key(key, text, field), op, values)
    for op in ("!=", "==", "="):
        if op in text:
            key, _, value = text.partition(op)
            key, value = key.strip(), value.strip()
            if not value:
                raise InvalidArgument(field, f"{text!r}: a value is missing after {op!r}")
            return Constraint(_key(key, text, field), "!=" if op == "!=" else "=", frozenset([value]))
    if text.startswith("!"):
        return Constraint(_key(text[1:].strip(), text, field), "absent")
    return Constraint(_key(text, text, field), "exists")


def parse_all(texts, field: str = "spec.constraints") -> tuple[Constraint, ...]:
    """Parsed constraints; INVALID_ARGUMENT when they contradict each other.

    Parsed once per distinct list: the input check, the planner and apply's re-check
    of one request (and every instance of a batch) share the result."""
    return _parse_all(tuple(texts), field)


@functools.lru_cache(maxsize=4096)
def _parse_all(texts: tuple, field: str) -> tuple[Constraint, ...]:
    parsed = tuple(parse(t, field) for t in texts)
    check_consistent(parsed, field)
    return parsed


def check_consistent(constraints, field: str = "spec.constraints") -> None:
    """Raise INVALID_ARGUMENT when no label set could satisfy every constraint on a key."""
    by_key: dict[str, list[Constraint]] = {}
    for c in constraints:
        by_key.setdefault(c.key, []).append(c)
    for key, group in by_key.items():
        allowed = None          # None: unrestricted
        must_exist = must_be_absent = False
        excluded: set = set()
        for c in group:
            if c.op in ("=", "in"):
                allowed = set(c.values) if allowed is None else allowed & c.values
                must_exist = True
            elif c.op in ("!=", "notin"):
                excluded |= c.values
            elif c.op == "exists":
                must_exist = True
            else:
                must_be_absent = True
        if must_exist and must_be_absent:
            raise InvalidArgument(field, f"contradictory constraints on {key!r}: "
                                         "it must be both present and absent")
        if allowed is not None and not allowed - excluded:
            text = ", ".join(str(c) for c in group)
            raise InvalidArgument(field, f"contradictory constraints on {key!r}: no value satisfies {text}")


def matches_all(constraints, labels: dict) -> bool:
    return all(c.matches(labels) for c in constraints)
