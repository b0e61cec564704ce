import os
import struct

import pytest

from scheduler.store.journal import MAGIC, DurableJournal, FsyncCounter, read_records


def entry(i, term=1):
    return (b"cmd-%d" % i, i, term)


def open_journal(path, **kw):
    return DurableJournal(str(path), counter=FsyncCounter(), **kw)


def test_append_sync_reopen(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 6):
        j.add(*entry(i))
    assert j.dirty
    assert j.sync() is True
    assert j.sync() is False  # nothing new: no second fdatasync
    j._destroy()
    j2 = open_journal(tmp_path)
    assert [j2[i] for i in range(len(j2))] == [entry(i) for i in range(1, 6)]
    assert j2[-1][1] == 5 and j2[1:3] == [entry(2), entry(3)]


def test_unsynced_entries_are_not_on_disk(tmp_path):
    j = open_journal(tmp_path)
    j.add(*entry(1))
    j.sync()
    j.add(*entry(2))  # buffered only: a crash now loses it, and it was never acknowledged
    entries, _, _ = read_records(str(tmp_path / "journal"))
    assert entries == [entry(1)]


def test_group_commit_one_fdatasync_per_sync(tmp_path):
    counter = FsyncCounter()
    j = DurableJournal(str(tmp_path), counter=counter)
    before = counter.count
    for i in range(1, 101):
        j.add(*entry(i))
    j.sync()
    assert counter.count - before == 1


def test_delete_entries_from_truncates(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 11):
        j.add(*entry(i))
    j.sync()
    j.deleteEntriesFrom(4)  # keep idx 1..4
    j.add(*entry(5, term=2))
    j.sync()
    j._destroy()
    j2 = open_journal(tmp_path)
    assert [j2[i] for i in range(len(j2))] == [entry(1), entry(2), entry(3), entry(4), entry(5, 2)]


def test_delete_entries_from_inside_unsynced_buffer(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 4):
        j.add(*entry(i))
    j.sync()
    for i in range(4, 8):
        j.add(*entry(i))
    j.deleteEntriesFrom(5)  # cut inside the pending part
    j.sync()
    j._destroy()
    assert [e[1] for e in read_records(str(tmp_path / "journal"))[0]] == [1, 2, 3, 4, 5]


def test_compact_keeps_tail_and_syncs_dump(tmp_path):
    dump = tmp_path / "snapshot"
    dump.write_bytes(b"dump")
    counter = FsyncCounter()
    j = DurableJournal(str(tmp_path), dump_path=str(dump), counter=counter)
    for i in range(1, 21):
        j.add(*entry(i))
    before = counter.count
    j.deleteEntriesTo(15)  # keep idx 16..20 (and make them durable)
    assert counter.count - before >= 3  # dump, its dir, the rewritten journal
    assert [j[i][1] for i in range(len(j))] == [16, 17, 18, 19, 20]
    j.add(*entry(21))
    j.sync()
    j._destroy()
    j2 = open_journal(tmp_path)
    assert [j2[i][1] for i in range(len(j2))] == [16, 17, 18, 19, 20, 21]
    j2.clear()
    assert len(j2) == 0
    j2._destroy()
    assert len(open_journal(tmp_path)) == 0


def test_torn_tail_is_dropped(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 4):
        j.add(*entry(i))
    j.sync()
    j._destroy()
    path = tmp_path / "journal"
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.truncate(size - 3)  # half-written last record
    j2 = open_journal(tmp_path)
    assert [j2[i][1] for i in range(len(j2))] == [1, 2]
    j2.add(*entry(3))
    j2.sync()
    j2._destroy()
    assert [e[1] for e in read_records(str(path))[0]] == [1, 2, 3]


def test_checksum_rejects_corrupt_record(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 4):
        j.add(*entry(i))
    j.sync()
    offsets = list(j._offsets)
    j._destroy()
    path = tmp_path / "journal"
    data = bytearray(path.read_bytes())
    data[offsets[2] + 8 + 16] ^= 0xFF  # flip a byte of record 3's command
    path.write_bytes(bytes(data))
    j2 = open_journal(tmp_path)
    assert [j2[i][1] for i in range(len(j2))] == [1, 2]


def test_garbage_length_is_rejected(tmp_path):
    path = tmp_path / "journal"
    path.write_bytes(MAGIC + struct.pack("<II", 0xFFFFFFF0, 0) + b"junk")
    assert len(open_journal(tmp_path)) == 0


def test_reopen_drops_entries_covered_by_snapshot(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 11):
        j.add(*entry(i))
    j.sync()
    j._destroy()
    j2 = open_journal(tmp_path, base=(7, 1))
    assert [j2[i][1] for i in range(len(j2))] == [7, 8, 9, 10]
    j2._destroy()
    assert [e[1] for e in read_records(str(tmp_path / "journal"))[0]] == [7, 8, 9, 10]


def test_term_and_vote_are_durable(tmp_path):
    counter = FsyncCounter()
    j = DurableJournal(str(tmp_path), counter=counter)
    before = counter.count
    j.setCurrentTerm(3, "127.0.0.1:1")
    assert counter.count - before >= 2  # file and directory
    j.setCurrentTerm(3, "127.0.0.1:1")  # unchanged: no extra fsync
    assert counter.count - before == 2
    assert not os.path.exists(tmp_path / "raft.meta.tmp")
    j2 = open_journal(tmp_path)
    assert j2.getCurrentTerm() == 3 and j2.getVotedForNodeId() == "127.0.0.1:1"


def test_not_a_journal(tmp_path):
    (tmp_path / "journal").write_bytes(b"something else")
    with pytest.raises(ValueError):
        open_journal(tmp_path)


def test_resent_identical_entries_stay_durable(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 6):
        j.add(*entry(i))
    j.sync()
    path = str(tmp_path / "journal")
    j.deleteEntriesFrom(2)  # pysyncobj: leader re-sent 3.. which we already have
    j.add(*entry(3))
    j.add(*entry(4))
    assert not j.dirty
    assert [e[1] for e in read_records(path)[0]] == [1, 2, 3, 4, 5]  # nothing un-persisted
    j.add(*entry(5, term=2))  # a real conflict: now the file is cut
    assert [j[i] for i in range(len(j))] == [entry(1), entry(2), entry(3), entry(4), entry(5, 2)]
    j.sync()
    assert read_records(path)[0] == [entry(1), entry(2), entry(3), entry(4), entry(5, 2)]


def test_pending_cut_is_applied_on_sync(tmp_path):
    j = open_journal(tmp_path)
    for i in range(1, 6):
        j.add(*entry(i))
    j.sync()
    j.deleteEntriesFrom(2)
    assert len(j) == 2
    j.sync()
    j._destroy()
    assert [e[1] for e in read_records(str(tmp_path / "journal"))[0]] == [1, 2]
