"""A durable Raft journal for pysyncobj: checksummed append-only records, group commit.

File ``journal``: an 8-byte magic, then records ``<length u32><crc32 u32><payload>``
with payload ``<idx u64><term u64><command bytes>``. Opening stops at the first record
that is short, fails its checksum or breaks index continuity (a torn tail from a
crash) and truncates the file there.

`add` only buffers; `sync` writes the buffer and calls fdatasync once for everything
appended since the last sync (group commit). The caller (the Raft node) must call
`sync` before acknowledging entries or counting its own copy toward commit.

File ``raft.meta`` holds the term and vote; it is replaced durably (tmp + fsync +
rename + fsync dir) before `setCurrentTerm` returns, i.e. before any vote is sent.
"""

from __future__ import annotations

import json
import os
import struct
import threading
import zlib

from pysyncobj.journal import Journal

MAGIC = b"TCJRNL01"
_HEAD = struct.Struct("<II")
_ENTRY = struct.Struct("<QQ")
MAX_RECORD = 1 << 30


class FsyncCounter:
    """Counts fsync/fdatasync calls made by this process (shown in status)."""

    def __init__(self):
        self._lock = threading.Lock()
        self.count = 0

    def fsync(self, fd: int) -> None:
        os.fsync(fd)
        self._add()

    def fdatasync(self, fd: int) -> None:
        os.fdatasync(fd)
        self._add()

    def _add(self) -> None:
        with self._lock:
            self.count += 1


FSYNCS = FsyncCounter()


def fsync_dir(path: str, counter: FsyncCounter = FSYNCS) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        counter.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: str, counter: FsyncCounter = FSYNCS) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        counter.fsync(fd)
    finally:
        os.close(fd)


def durable_replace(tmp_path: str, path: str, counter: FsyncCounter = FSYNCS) -> None:
    """fsync ``tmp_path``, rename it over ``path``, fsync the directory."""
    fsync_file(tmp_path, counter)
    os.replace(tmp_path, path)
    fsync_dir(os.path.dirname(os.path.abspath(path)), counter)


def durable_write(path: str, data: bytes, counter: FsyncCounter = FSYNCS) -> None:
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    durable_replace(tmp, path, counter)


def encode_record(command: bytes, idx: int, term: int) -> bytes:
    payload = _ENTRY.pack(idx, term) + bytes(command)
    return _HEAD.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(path: str) -> tuple[list[tuple[bytes, int, int]], list[int], int]:
    """Entries, their file offsets, and the offset just past the last valid record."""
    entries: list[tuple[bytes, int, int]] = []
    offsets: list[int] = []
    with open(path, "rb") as f:
        data = f.read()
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError(f"{path}: not a journal (bad magic)")
    pos = len(MAGIC)
    while pos + _HEAD.size <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        start = pos + _HEAD.size
        if length < _ENTRY.size or length > MAX_RECORD or start + length > len(data):
            break
        payload = data[start:start + length]
        if zlib.crc32(payload) != crc:
            break
        idx, term = _ENTRY.unpack_from(payload)
        if entries and idx != entries[-1][1] + 1:
            break
        entries.append((payload[_ENTRY.size:], idx, term))
        offsets.append(pos)
        pos = start + length
    return entries, offsets, pos


class DurableJournal(Journal):
    """pysyncobj Journal backed by ``dirpath/journal`` and ``dirpath/raft.meta``.

    Only the Raft tick thread may call it. ``dump_path`` is pysyncobj's fullDumpFile:
    it is fsynced (with its directory) before entries are dropped by compaction.
    ``base`` (idx, term) of the snapshot found at startup lets reopening drop entries
    the snapshot already covers, so pysyncobj's dump/journal consistency check passes
    even if a crash happened between writing the dump and compacting the journal.
    """

    def __init__(self, dirpath: str, dump_path: str | None = None,
                 base: tuple[int, int] | None = None, counter: FsyncCounter = FSYNCS):
        self._dir = dirpath
        self._path = os.path.join(dirpath, "journal")
        self._meta_path = os.path.join(dirpath, "raft.meta")
        self._dump_path = dump_path
        self._counter = counter
        self._pending = bytearray()
        self._dirty = False
        self.compactions = 0
        self._cut: list = []  # [(entry, offset)] deleted but not yet cut from the file
        self._entries: list[tuple[bytes, int, int]] = []
        self._offsets: list[int] = []
        self._fd: int | None = None
        if os.path.exists(self._path):
            self._entries, self._offsets, end = read_records(self._path)
            if base is not None:
                self._drop_before(base)
            if self._offsets and self._offsets[0] != len(MAGIC):
                self._rewrite(self._entries)
            else:
                self._fd = os.open(self._path, os.O_RDWR)
                if os.fstat(self._fd).st_size != end:
                    os.ftruncate(self._fd, end)  # drop a torn tail
                    self._counter.fdatasync(self._fd)
                self._end = end
        else:
            self._rewrite([])
        self._meta = self._load_meta()

    # -- pysyncobj Journal interface -------------------------------------------------

    def add(self, command, idx, term):
        command = bytes(command) if not isinstance(command, bytes) else command
        if self._cut:
            (old, offset) = self._cut[0]
            if old == (command, idx, term) and not self._pending:
                self._cut.pop(0)
                self._entries.append(old)
                self._offsets.append(offset)
                return
            self._materialize_cut()
        self._entries.append((command, idx, term))
        self._offsets.append(self._end + len(self._pending))
        self._pending += encode_record(command, idx, term)
        self._dirty = True

    def clear(self):
        self._cut = []
        self._make_dump_durable()
        self._rewrite([])

    def deleteEntriesFrom(self, entryFrom):
        # pysyncobj truncates and re-appends entries a follower already has whenever
        # the leader re-sends them (it moves nextIndex back on every ack). Truncating
        # the file then would briefly un-persist entries this node has acknowledged,
        # so the cut is lazy: identical re-appended entries are kept where they are,
        # and the file is only cut at the first entry that really differs.
        if entryFrom >= len(self._entries):
            return
        self._materialize_cut()
        self._flush_pending()
        self._cut = list(zip(self._entries[entryFrom:], self._offsets[entryFrom:]))
        del self._entries[entryFrom:]
        del self._offsets[entryFrom:]

    def deleteEntriesTo(self, entryTo):
        if entryTo <= 0:
            return
        self.compactions += 1
        self._materialize_cut()
        self._make_dump_durable()
        self._rewrite(self._entries[entryTo:])

    def __getitem__(self, item):
        return self._entries[item]

    def __len__(self):
        return len(self._entries)

    def _destroy(self):
        try:
            self.sync()
        finally:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def setRaftCommitIndex(self, raftCommitIndex):
        # Not persisted: after a restart entries are applied once a leader confirms
        # the commit index, which is always safe.
        pass

    def getRaftCommitIndex(self):
        return 1

    def setCurrentTerm(self, term, votedForNodeId):
        if self._meta == {"term": term, "voted_for": votedForNodeId}:
            return
        self._meta = {"term": term, "voted_for": votedForNodeId}
        durable_write(self._meta_path, json.dumps(self._meta).encode(), self._counter)

    def getCurrentTerm(self):
        return self._meta.get("term", 0)

    def getVotedForNodeId(self):
        return self._meta.get("voted_for")

    # -- group commit ----------------------------------------------------------------

    @property
    def dirty(self) -> bool:
        return self._dirty

    @property
    def size_bytes(self) -> int:
        return self._end + len(self._pending)

    def sync(self) -> bool:
        """Make every added entry durable; True when an fdatasync was needed."""
        self._materialize_cut()
        if not self._dirty:
            return False
        self._flush_pending()
        self._counter.fdatasync(self._fd)
        self._dirty = False
        return True

    # -- internals -------------------------------------------------------------------

    def _materialize_cut(self) -> None:
        if self._cut:
            self._end = self._cut[0][1]
            os.ftruncate(self._fd, self._end)
            self._cut = []
            self._dirty = True

    def _flush_pending(self) -> None:
        if not self._pending:
            return
        view = memoryview(self._pending)
        written = 0
        while written < len(view):
            written += os.pwrite(self._fd, view[written:], self._end + written)
        self._end += len(self._pending)
        self._pending = bytearray()

    def _rewrite(self, entries: list[tuple[bytes, int, int]]) -> None:
        tmp = self._path + ".tmp"
        buf = bytearray(MAGIC)
        offsets = []
        for command, idx, term in entries:
            offsets.append(len(buf))
            buf += encode_record(command, idx, term)
        with open(tmp, "wb") as f:
            f.write(buf)
        durable_replace(tmp, self._path, self._counter)
        old = self._fd
        self._fd = os.open(self._path, os.O_RDWR)
        if old is not None:
            os.close(old)
        self._entries = list(entries)
        self._offsets = offsets
        self._end = len(buf)
        self._pending = bytearray()
        self._dirty = False

    def _drop_before(self, base: tuple[int, int]) -> None:
        base_idx, base_term = base
        for i, (_, idx, term) in enumerate(self._entries):
            if idx == base_idx and term == base_term:
                del self._entries[:i]
                del self._offsets[:i]
                return

    def _make_dump_durable(self) -> None:
        if self._dump_path and os.path.exists(self._dump_path):
            fsync_file(self._dump_path, self._counter)
            fsync_dir(os.path.dirname(os.path.abspath(self._dump_path)), self._counter)

    def _load_meta(self) -> dict:
        try:
            with open(self._meta_path, "rb") as f:
                meta = json.loads(f.read())
            return {"term": int(meta["term"]), "voted_for": meta.get("voted_for")}
        except (OSError, ValueError, KeyError):
            return {}
