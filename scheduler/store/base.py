"""The narrow interface between the scheduler and its replicated cluster state.

A backend (today pysyncobj via `RaftStore`; an etcd one could follow) replicates an
ordered log of *commands* and applies them, through a deterministic state machine,
on every scheduler node.

A command is a plain dict ``{"rid": str, "op": str, "args": dict, "ts": int}``:
``rid`` is a request id chosen by the proposer (reusing it makes a retry safe: a rid
seen before returns the stored result and is not applied again), ``ts`` the proposer's
clock in unix milliseconds (the machine must never read a clock itself).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol


class StoreError(Exception):
    """Base of every error the store raises."""


class Unavailable(StoreError):
    """Nothing was applied: no leader (or no Raft process) was reachable before the deadline."""


class OutcomeUnknown(StoreError):
    """The commands may or may not have been applied. Retrying with the same rids is safe."""


class Machine(Protocol):
    """What a replicated state machine class must provide (see DESIGN.md)."""

    def apply(self, op: str, args: dict, ctx: dict) -> dict: ...

    def to_dict(self) -> dict: ...

    @classmethod
    def from_dict(cls, d: dict) -> "Machine": ...


# (index, commands, results) for an applied batch; (index, None, None) when the
# mirror was replaced by a snapshot and the watcher must re-read everything.
WatchCallback = Callable[[int, "list[dict] | None", "list[dict] | None"], None]


@dataclass(frozen=True)
class Member:
    address: str
    connected: bool


@dataclass(frozen=True)
class StoreStatus:
    """A point-in-time view of one node, as its Raft process saw it."""

    self_address: str
    role: str  # "leader" | "follower" | "candidate"
    term: int
    leader: str | None
    commit_index: int
    raft_applied_index: int  # last Raft entry applied in the Raft process (no-ops included)
    applied_index: int  # last entry the local mirror applied
    members: list[Member] = field(default_factory=list)
    has_quorum: bool = False
    ready: bool = False  # this node has caught up with the leader's commit index once
    fsync_count: int = 0
    log_size: int = 0  # Raft entries held in the journal (shrinks after compaction)
    journal_bytes: int = 0
    snapshots_written: int = 0
    pid: int = 0  # the Raft process

    @property
    def is_leader(self) -> bool:
        return self.role == "leader"


class Store(ABC):
    """Replicated, ordered, deduplicated command log with a locally readable state."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    def propose(self, commands: list[dict], timeout: float = 5.0) -> list[dict]:
        """Replicate and apply ``commands`` (in order, atomically as one log entry when
        they fit one batch); return their results in order. Raises `Unavailable` when
        nothing can have been applied, `OutcomeUnknown` when it may have been."""

    def propose_one(self, op: str, args: dict, rid: str | None = None,
                    ts: int | None = None, timeout: float = 5.0) -> dict:
        return self.propose([make_command(op, args, rid, ts)], timeout=timeout)[0]

    @abstractmethod
    def read(self) -> Any:
        """The local mirror of the machine; treat as read-only."""

    @property
    @abstractmethod
    def applied_index(self) -> int: ...

    @abstractmethod
    def watch(self, callback: WatchCallback) -> Callable[[], None]: ...

    @abstractmethod
    def barrier(self, timeout: float = 5.0) -> int: ...

    @abstractmethod
    def status(self) -> StoreStatus: ...

    @abstractmethod
    def snapshot(self) -> dict: ...

    @abstractmethod
    def add_member(self, address: str, timeout: float = 10.0) -> None: ...

    @abstractmethod
    def remove_member(self, address: str, timeout: float = 10.0) -> None: ...


def make_command(op: str, args: dict, rid: str | None = None, ts: int | None = None) -> dict:
    import time
    import uuid

    return {
        "rid": rid if rid is not None else uuid.uuid4().hex,
        "op": op,
        "args": args,
        "ts": int(ts if ts is not None else time.time() * 1000),
    }


def validate_command(cmd: Any) -> None:
    """Raise ValueError unless ``cmd`` has the command shape."""
    if not isinstance(cmd, dict):
        raise ValueError("command must be a dict")
    if not isinstance(cmd.get("rid"), str) or not cmd["rid"]:
        raise ValueError("command.rid must be a non-empty string")
    if not isinstance(cmd.get("op"), str):
        raise ValueError("command.op must be a string")
    if not isinstance(cmd.get("args"), dict):
        raise ValueError("command.args must be a dict")
    if not isinstance(cmd.get("ts"), int) or isinstance(cmd.get("ts"), bool):
        raise ValueError("command.ts must be an int (unix ms)")


def load_machine_class(path: str) -> type:
    """``"package.module:Class"`` -> the class."""
    module_name, _, attr = path.partition(":")
    if not module_name or not attr:
        raise ValueError(f"machine path must look like 'pkg.module:Class', got {path!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj
