"""Which schedulers are members: the configs' `members`, changed by the replicated
`members` table (nodes added or removed at run time with `cloud cluster add-node`
or `remove-node`)."""
from __future__ import annotations

import re

from common.errors import InvalidArgument
from scheduler.config import Member

_ADDRESS_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\Z")


def current_members(store, config) -> list[Member]:
    """Every member by name, sorted: configured ones not removed, plus added ones."""
    with store.read_lock:
        table = {name: dict(m) for name, m in store.read().members.items()}
    members = {m.name: m for m in config.member_list()}
    for name, record in table.items():
        if record["removed"]:
            members.pop(name, None)
        else:
            members[name] = Member(name, record["api"], record["raft"])
    return sorted(members.values(), key=lambda m: m.name)


def find_member(store, config, ref: str) -> Member | None:
    """A member by name or Raft address."""
    return next((m for m in current_members(store, config) if ref in (m.name, m.raft)), None)


def check_address(field: str, value: str) -> str:
    match = _ADDRESS_RE.match(value or "")
    if not match or not 0 < int(match.group(2)) < 65536:
        raise InvalidArgument(field, f"{value!r} is not a host:port address")
    if match.group(1) in ("0.0.0.0", "[::]"):
        raise InvalidArgument(field, "must be an address other nodes can dial, not a wildcard")
    return value


def quorum_after_removal(connected: dict[str, bool], raft_address: str) -> tuple[bool, str]:
    """Whether the members left after removing `raft_address` still have a quorum
    among those this node reaches now; and a sentence saying why not."""
    left = {address: up for address, up in connected.items() if address != raft_address}
    if not left:
        return False, "it is the last member"
    reachable = sum(1 for up in left.values() if up)
    needed = len(left) // 2 + 1
    if reachable < needed:
        return False, (f"{reachable} of the {len(left)} members left are reachable, "
                       f"a quorum needs {needed}")
    return True, ""
