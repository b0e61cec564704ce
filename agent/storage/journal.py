"""The agent's journal of volumes and snapshots (SQLite, standard library only).

An intent is written before the storage call ("creating"), the outcome after
("present"), so that after a crash the agent can tell what it created (adopt
it) from what it does not know (report it, never delete it). Attachments
remember which instance mounts which volume where, so a restarted agent can
unmount what a removed instance left behind.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

JOURNAL_FILE = "volumes.db"
CREATING, PRESENT = "creating", "present"


@dataclass(frozen=True)
class VolumeRow:
    volume_id: str
    state: str
    size_bytes: int
    source_snapshot_id: str
    revert_generation: int


@dataclass(frozen=True)
class SnapshotRow:
    snapshot_id: str
    volume_id: str
    state: str


@dataclass(frozen=True)
class Attachment:
    volume_id: str
    instance_id: str
    path: str
    mountpoint: str


class VolumeJournal:
    def __init__(self, data_dir: Path):
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(Path(data_dir) / JOURNAL_FILE, check_same_thread=False,
                                   isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._lock = threading.Lock()
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS volumes (volume_id TEXT PRIMARY KEY, state TEXT NOT NULL,
                size_bytes INTEGER NOT NULL, source_snapshot_id TEXT NOT NULL DEFAULT '',
                revert_generation INTEGER NOT NULL DEFAULT 0, updated_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS snapshots (snapshot_id TEXT PRIMARY KEY,
                volume_id TEXT NOT NULL, state TEXT NOT NULL, updated_ms INTEGER NOT NULL);
            CREATE TABLE IF NOT EXISTS attachments (volume_id TEXT PRIMARY KEY,
                instance_id TEXT NOT NULL, path TEXT NOT NULL, mountpoint TEXT NOT NULL);
        """)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, args: tuple) -> None:
        with self._lock:
            self._db.execute(sql, args)

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # volumes
    def put_volume(self, volume_id: str, state: str, size_bytes: int, source_snapshot_id: str = "",
                   revert_generation: int | None = None) -> None:
        previous = self.volume(volume_id)
        generation = revert_generation if revert_generation is not None else \
            (previous.revert_generation if previous else 0)
        self._write("INSERT OR REPLACE INTO volumes VALUES (?, ?, ?, ?, ?, ?)",
                    (volume_id, state, size_bytes, source_snapshot_id, generation, int(time.time() * 1000)))

    def volume(self, volume_id: str) -> VolumeRow | None:
        rows = self._rows("SELECT volume_id, state, size_bytes, source_snapshot_id, revert_generation "
                          "FROM volumes WHERE volume_id = ?", (volume_id,))
        return VolumeRow(*rows[0]) if rows else None

    def volumes(self) -> list[VolumeRow]:
        return [VolumeRow(*row) for row in self._rows(
            "SELECT volume_id, state, size_bytes, source_snapshot_id, revert_generation "
            "FROM volumes ORDER BY volume_id")]

    def forget_volume(self, volume_id: str) -> None:
        self._write("DELETE FROM volumes WHERE volume_id = ?", (volume_id,))

    # snapshots
    def put_snapshot(self, snapshot_id: str, volume_id: str, state: str) -> None:
        self._write("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)",
                    (snapshot_id, volume_id, state, int(time.time() * 1000)))

    def snapshots(self) -> list[SnapshotRow]:
        return [SnapshotRow(*row) for row in self._rows(
            "SELECT snapshot_id, volume_id, state FROM snapshots ORDER BY snapshot_id")]

    def forget_snapshot(self, snapshot_id: str) -> None:
        self._write("DELETE FROM snapshots WHERE snapshot_id = ?", (snapshot_id,))

    # attachments
    def put_attachment(self, attachment: Attachment) -> None:
        self._write("INSERT OR REPLACE INTO attachments VALUES (?, ?, ?, ?)",
                    (attachment.volume_id, attachment.instance_id, attachment.path,
                     attachment.mountpoint))

    def attachments(self, instance_id: str | None = None) -> list[Attachment]:
        if instance_id is None:
            return [Attachment(*row) for row in self._rows("SELECT * FROM attachments")]
        return [Attachment(*row) for row in self._rows(
            "SELECT * FROM attachments WHERE instance_id = ?", (instance_id,))]

    def attachment(self, volume_id: str) -> Attachment | None:
        rows = self._rows("SELECT * FROM attachments WHERE volume_id = ?", (volume_id,))
        return Attachment(*rows[0]) if rows else None

    def forget_attachment(self, volume_id: str) -> None:
        self._write("DELETE FROM attachments WHERE volume_id = ?", (volume_id,))
