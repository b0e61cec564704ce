"""A healed minority catches up: one follower's Raft process is frozen (SIGSTOP:
it neither sends nor answers, as behind a partition) while the majority commits
10,000 writes; then it is resumed and timed until it has applied them all.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.store.testing import LocalCluster  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def run(writes: int, threads: int) -> dict:
    with LocalCluster(Path(tempfile.mkdtemp(prefix="thecloud-catchup-"))).start() as cluster:
        leader = cluster.leader()
        follower = next(s for s in cluster.running() if s.self_address != leader.self_address)
        os.kill(follower.raft_pid, signal.SIGSTOP)

        def writer(w: int) -> None:
            for n in range(writes // threads):
                leader.propose_one("put", {"key": f"k{w}-{n}", "value": n}, timeout=30)

        started = time.perf_counter()
        pool = [threading.Thread(target=writer, args=(w,)) for w in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
        write_seconds = time.perf_counter() - started
        target = leader.status().commit_index
        os.kill(follower.raft_pid, signal.SIGCONT)
        resumed = time.perf_counter()
        while follower.status().raft_applied_index < target:
            time.sleep(0.01)
        raft_caught_up = time.perf_counter() - resumed
        while follower.applied_index < target:
            time.sleep(0.01)
        mirror_caught_up = time.perf_counter() - resumed
        return {"writes_while_frozen": writes, "writers": threads,
                "majority_write_seconds": round(write_seconds, 2),
                "raft_entries_behind": target,
                "catch_up_raft_s": round(raft_caught_up, 3),
                "catch_up_mirror_s": round(mirror_caught_up, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writes", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    result = {"benchmark": "faults_minority_catchup", **run(args.writes, args.threads)}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "faults_minority_catchup.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
