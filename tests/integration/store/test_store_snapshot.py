"""Log compaction (pysyncobj forks a child to write the snapshot) under write load."""

import json
import threading
import time
from pathlib import Path

import pytest

from scheduler.store.base import make_command
from scheduler.store.testing import LocalCluster

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]

KEYS = 50_000


def test_snapshot_under_load_keeps_leader_and_acks(tmp_path):
    with LocalCluster(tmp_path).start() as cluster:
        leader = cluster.leader()
        for start in range(0, KEYS, 1000):
            leader.propose([make_command("put", {"key": f"key-{i}", "value": {"n": i, "pad": "x" * 20}})
                            for i in range(start, start + 1000)], timeout=30)
        leader.barrier()
        leader = cluster.leader()
        st = leader.status()
        leader_address, term = st.self_address, st.term

        acks: list[float] = []
        errors: list[Exception] = []
        stop = threading.Event()

        def writer(store, n):
            i = 0
            while not stop.is_set():
                try:
                    store.propose_one("put", {"key": f"live-{n}-{i}", "value": i})
                    acks.append(time.monotonic())
                except Exception as exc:  # noqa: BLE001 - collected for the assertion
                    errors.append(exc)
                i += 1

        writers = [threading.Thread(target=writer, args=(s, n)) for n, s in enumerate(cluster.running() * 2)]
        for t in writers:
            t.start()
        time.sleep(0.5)
        compaction_started = time.monotonic()
        for store in cluster.running():
            store.compact()
        deadline = time.monotonic() + 60
        while not all(s.status().snapshots_written >= 1 for s in cluster.running()):
            assert time.monotonic() < deadline, "compaction did not finish"
            time.sleep(0.05)
        compaction_done = time.monotonic()
        time.sleep(0.5)
        stop.set()
        for t in writers:
            t.join()

        assert not errors
        assert sum(compaction_started <= t <= compaction_done for t in acks) > 0
        st = cluster.leader().status()
        assert (st.self_address, st.term) == (leader_address, term), "leadership changed during compaction"
        for store in cluster.running():
            writer_info = json.loads((Path(store.data_dir) / "snapshot.writer").read_text())
            assert writer_info["ppid"] == store.raft_pid != writer_info["pid"]  # a forked child wrote it
            st = store.status()
            assert st.log_size < st.commit_index - KEYS // 1000  # the fill entries were compacted away

        # a follower restarted from its snapshot + journal tail has exactly the same state
        follower = cluster.followers()[0]
        address = follower.self_address
        cluster.stop_node(address)
        restarted = cluster.start_node(address)
        index = cluster.leader().barrier()
        cluster.wait_applied(index)
        with cluster.leader().read_lock, restarted.read_lock:
            if restarted.applied_index == cluster.leader().applied_index:
                assert restarted.snapshot() == cluster.leader().snapshot()
        assert len(restarted.read().data) >= KEYS
