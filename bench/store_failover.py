"""Time from kill -9 of the leader's Raft process to the first successful write
through a surviving node, over N tries (default 10).

    python bench/store_failover.py [--tries 10]

Prints JSON and writes bench/results/store_failover.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.store.testing import LocalCluster  # noqa: E402
from scheduler.store.tuning import RaftTuning  # noqa: E402


def settle(cluster: LocalCluster, timeout: float = 20.0) -> None:
    """Every node up, connected to every peer, and agreeing on one leader."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            statuses = [s.status() for s in cluster.running()]
        except Exception:  # noqa: BLE001 - a node is still restarting
            time.sleep(0.05)
            continue
        leaders = {st.leader for st in statuses}
        if len(leaders) == 1 and None not in leaders and all(
                all(m.connected for m in st.members) for st in statuses if st.is_leader):
            return
        time.sleep(0.05)
    raise TimeoutError("cluster did not settle")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tries", type=int, default=10)
    args = ap.parse_args()
    tuning = RaftTuning()
    cluster = LocalCluster(Path(tempfile.mkdtemp(prefix="store-failover-")), tuning=tuning).start()
    times, elections = [], []
    try:
        for n in range(args.tries):
            settle(cluster)
            leader = cluster.leader()
            survivor = next(s for s in cluster.running() if s is not leader)
            survivor.propose_one("put", {"key": "warm", "value": n})
            old_term = survivor.status().term
            os.kill(leader.raft_pid, signal.SIGKILL)
            t0 = time.perf_counter()
            survivor.propose_one("put", {"key": f"after-kill-{n}", "value": n}, timeout=10)
            times.append(time.perf_counter() - t0)
            elections.append(survivor.status().term - old_term)
            time.sleep(0.5)  # the killed node's RaftStore respawns its Raft process
    finally:
        cluster.stop()
    result = {
        "benchmark": "store_failover",
        "tries": args.tries,
        "first_write_after_leader_kill_s": {
            "median": round(statistics.median(times), 3),
            "max": round(max(times), 3),
            "min": round(min(times), 3),
            "all": [round(t, 3) for t in times],
        },
        "term_increase_per_try": elections,
        "targets": {"median_s": 1.0, "max_s": 2.0},
        "tuning": tuning.to_dict(),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results" / "store_failover.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
