"""fsync before acknowledging: shown by the Raft process's counter, by strace, and by
kill -9 of every node right after acknowledged writes."""

import os
import re
import shutil
import signal
import subprocess
import threading
import time

import pytest

from scheduler.store.base import OutcomeUnknown, Unavailable, make_command
from scheduler.store.testing import LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def cluster(tmp_path):
    c = LocalCluster(tmp_path).start()
    yield c
    c.stop()


def test_every_acknowledged_write_was_fsynced(cluster):
    leader = cluster.leader()
    followers = cluster.followers()
    before = {s.self_address: s.status().fsync_count for s in cluster.running()}
    writes = 40
    for i in range(writes):
        leader.propose_one("put", {"key": f"k{i}", "value": i})
    after = {s.self_address: s.status().fsync_count for s in cluster.running()}
    # Sequential writes: each needs the leader's own fdatasync before it counts, and an
    # fsynced copy on a follower before that follower acknowledges.
    assert after[leader.self_address] - before[leader.self_address] >= writes
    assert max(after[f.self_address] - before[f.self_address] for f in followers) >= writes


def test_group_commit_batches_fsyncs(cluster):
    leader = cluster.leader()
    before = leader.status().fsync_count
    writes_per_thread, threads = 40, 16

    def writer():
        for _ in range(writes_per_thread):
            leader.propose_one("incr", {"key": "n"})

    pool = [threading.Thread(target=writer) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    fsyncs = leader.status().fsync_count - before
    assert leader.read().data["n"] == writes_per_thread * threads
    assert 1 <= fsyncs < writes_per_thread * threads


@pytest.mark.skipif(not shutil.which("strace"), reason="strace not installed")
def test_strace_shows_fdatasync_per_write(cluster, tmp_path):
    leader = cluster.leader()
    out = tmp_path / "strace.out"
    tracer = subprocess.Popen(["strace", "-f", "-e", "trace=fsync,fdatasync", "-o", str(out),
                               "-p", str(leader.raft_pid)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not out.exists() or out.stat().st_size == 0:
            leader.propose_one("put", {"key": "warmup", "value": 0})  # until strace is attached
            assert time.monotonic() < deadline, "strace did not attach"
            time.sleep(0.05)
        writes = 20
        for i in range(writes):
            leader.propose_one("put", {"key": f"k{i}", "value": i})
    finally:
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=10)
    calls = re.findall(r"\bf(?:data)?sync\(", out.read_text())
    assert len(calls) >= writes


def test_kill_9_every_node_after_acknowledged_writes(cluster):
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def writer(store, n):
        i = 0
        while not stop.is_set():
            cmd = make_command("put", {"key": f"w{n}-{i}", "value": i})
            try:
                store.propose([cmd], timeout=2.0)
                with lock:
                    acked.append(cmd["args"]["key"])
            except (OutcomeUnknown, Unavailable):
                pass
            i += 1

    threads = [threading.Thread(target=writer, args=(s, n)) for n, s in enumerate(cluster.running() * 3)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    with lock:
        acked_before_kill = list(acked)
    for store in cluster.running():  # all three Raft processes, as fast as we can
        os.kill(store.raft_pid, signal.SIGKILL)
    stop.set()
    for t in threads:
        t.join()
    assert len(acked_before_kill) > 100
    # each RaftStore respawns its Raft process from what is on disk
    leader = cluster.leader(timeout=20)
    leader.barrier()
    cluster.wait_applied(leader.applied_index)
    for store in cluster.running():
        data = store.read().data
        missing = [k for k in acked if k not in data]
        assert not missing, f"{len(missing)} acknowledged writes lost, e.g. {missing[:3]}"
