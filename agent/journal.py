"""The agent's local journal (SQLite under data_dir): what it created, its host id, the term it obeys.

It survives restarts so that a restarted agent adopts its running instances instead
of recreating them, keeps its host id, and still refuses a deposed leader's term.
Every write is committed (fsynced) before the call that caused it answers.
"""
from __future__ import annotations

import fcntl
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

JOURNAL_FILE = "agent.db"


@dataclass(frozen=True)
class InstanceRecord:
    instance_id: str
    name: str
    project: str
    runtime_id: str
    spec_hash: str
    desired_state: str
    last_error: str
    created_at_ms: int
    updated_at_ms: int


def _lock_data_dir(data_dir: Path):
    """Hold an exclusive lock on data_dir for the life of the process (released on any exit)."""
    handle = open(data_dir / "agent.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise JournalBusy(f"another agent is using {data_dir}") from None
    return handle


class JournalBusy(RuntimeError):
    pass


def _now_ms() -> int:
    return int(time.time() * 1000)


class Journal:
    """Thread-safe; one per agent process."""

    def __init__(self, data_dir: Path):
        data_dir = Path(data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / JOURNAL_FILE
        self._lock_file = _lock_data_dir(data_dir)
        conn = sqlite3.connect(self.path, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        self._db = sqlite_utils.Database(conn)
        self._lock = threading.Lock()
        self._db["instances"].create({
            "instance_id": str, "name": str, "project": str, "runtime_id": str,
            "spec_hash": str, "desired_state": str, "last_error": str, "created_at_ms": int, "updated_at_ms": int,
        }, pk="instance_id", if_not_exists=True)
        self._db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()
            self._lock_file.close()

    def _get_meta(self, key: str) -> str | None:
        rows = list(self._db.query("SELECT value FROM meta WHERE key = ?", [key]))
        return rows[0]["value"] if rows else None

    def _set_meta(self, key: str, value: str) -> None:
        self._db["meta"].upsert({"key": key, "value": value}, pk="key")

    def host_id(self) -> str:
        with self._lock:
            return self._get_meta("host_id") or ""

    def set_host_id(self, host_id: str) -> None:
        with self._lock, self._db.conn:
            self._set_meta("host_id", host_id)

    def highest_term(self) -> int:
        with self._lock:
            return int(self._get_meta("highest_term") or 0)

    def raise_term(self, term: int, leader: str = "") -> int:
        """Record `term` if it is higher than the one recorded; the highest term afterwards."""
        with self._lock, self._db.conn:
            current = int(self._get_meta("highest_term") or 0)
            if term > current:
                self._set_meta("highest_term", str(term))
                self._set_meta("highest_term_leader", leader)
                return term
            return current

    def record_instance(self, instance_id: str, name: str, project: str, runtime_id: str,
                        spec_hash: str, desired_state: str, last_error: str = "") -> None:
        """Remember what the agent was asked for and what it made (written only when it changed)."""
        now = _now_ms()
        row = {"instance_id": instance_id, "name": name, "project": project,
               "runtime_id": runtime_id, "spec_hash": spec_hash,
               "desired_state": desired_state, "last_error": last_error}
        with self._lock, self._db.conn:
            existing = list(self._db.query(
                "SELECT * FROM instances WHERE instance_id = ?", [instance_id]))
            if existing and all(existing[0][key] == value for key, value in row.items()):
                return
            created = existing[0]["created_at_ms"] if existing else now
            self._db["instances"].upsert({**row, "created_at_ms": created, "updated_at_ms": now},
                                         pk="instance_id")

    def update_runtime_id(self, instance_id: str, runtime_id: str) -> None:
        with self._lock, self._db.conn:
            self._db.execute("UPDATE instances SET runtime_id = ?, updated_at_ms = ? "
                             "WHERE instance_id = ?", [runtime_id, _now_ms(), instance_id])

    def forget_instance(self, instance_id: str) -> bool:
        with self._lock, self._db.conn:
            cursor = self._db.execute("DELETE FROM instances WHERE instance_id = ?", [instance_id])
            return cursor.rowcount > 0

    def instance(self, instance_id: str) -> InstanceRecord | None:
        with self._lock:
            rows = list(self._db.query("SELECT * FROM instances WHERE instance_id = ?",
                                       [instance_id]))
        return InstanceRecord(**rows[0]) if rows else None

    def instances(self) -> list[InstanceRecord]:
        with self._lock:
            rows = list(self._db.query("SELECT * FROM instances ORDER BY instance_id"))
        return [InstanceRecord(**row) for row in rows]
