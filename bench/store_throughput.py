"""Durable committed commands/s through RaftStore on a 3-node loopback cluster.

    python bench/store_throughput.py [--threads 64] [--seconds 10] [--all-nodes]

Without --all-nodes the two other nodes are bare Raft processes (no mirror) and every
client thread proposes through the one RaftStore; with it, three RaftStores live in
this process and threads are spread over them. Prints JSON and writes
bench/results/store_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scheduler.store.base import make_command  # noqa: E402
from scheduler.store.client import RaftStore  # noqa: E402
from scheduler.store.testing import (TEST_MACHINE, TEST_PASSWORD, LocalCluster, free_ports,  # noqa: E402
                                     spawn_raft_process)
from scheduler.store.tuning import RaftTuning  # noqa: E402


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else 0.0


def wait_leader(store: RaftStore, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = store.status()
        if st.leader and st.has_quorum:
            return
        time.sleep(0.05)
    raise TimeoutError("no leader")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--all-nodes", action="store_true")
    ap.add_argument("--any-leader", action="store_true", help="do not insist on proposing through the leader")
    args = ap.parse_args()
    tuning = RaftTuning()
    base = Path(tempfile.mkdtemp(prefix="store-bench-"))
    procs, cluster = [], None
    if args.all_nodes:
        cluster = LocalCluster(base, tuning=tuning).start()
        stores = cluster.running()
    else:
        for attempt in range(5):  # measure through the leader: retry until it is ours
            addresses = [f"127.0.0.1:{p}" for p in free_ports(3)]
            store = RaftStore(TEST_MACHINE, addresses[0], addresses, base / f"owner-{attempt}", TEST_PASSWORD, tuning)
            store.start()
            procs = [spawn_raft_process(a, addresses, base / a.replace(":", "_"), tuning) for a in addresses[1:]]
            wait_leader(store)
            if store.status().is_leader or args.any_leader:
                break
            store.stop()
            for p in procs:
                p.stdin.close()
                p.wait(timeout=5)
        stores = [store]
    for s in stores:
        wait_leader(s)

    latencies: list[list[float]] = [[] for _ in range(args.threads)]
    errors = [0]
    stop = threading.Event()
    start_gate = threading.Barrier(args.threads + 1)

    def client(n: int) -> None:
        store = stores[n % len(stores)]
        mine = latencies[n]
        start_gate.wait()
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                store.propose([make_command("put", {"key": f"t{n}-{len(mine)}", "value": n})], timeout=10)
                mine.append(time.perf_counter() - t0)
            except Exception:  # noqa: BLE001 - counted
                errors[0] += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.threads)]
    for t in threads:
        t.start()
    fsync_before = {s.self_address: s.status().fsync_count for s in stores}
    leader_fsync_store = next((s for s in stores if s.status().is_leader), stores[0])
    start_gate.wait()
    t_start = time.perf_counter()
    time.sleep(args.seconds)
    stop.set()
    elapsed = time.perf_counter() - t_start
    for t in threads:
        t.join()
    fsync_after = {s.self_address: s.status().fsync_count for s in stores}
    all_lat = [x for lat in latencies for x in lat]
    st = stores[0].status()
    result = {
        "benchmark": "store_throughput",
        "nodes": 3,
        "client_threads": args.threads,
        "proposing_nodes": len(stores),
        "seconds": round(elapsed, 2),
        "committed_commands": len(all_lat),
        "commands_per_s": round(len(all_lat) / elapsed, 1),
        "propose_latency_ms": {"p50": round(percentile(all_lat, 50) * 1000, 2),
                               "p99": round(percentile(all_lat, 99) * 1000, 2),
                               "max": round(max(all_lat, default=0) * 1000, 2)},
        "fsyncs_per_s": {s: round((fsync_after[s] - fsync_before[s]) / elapsed, 1) for s in fsync_after},
        "leader_is_measured_node": leader_fsync_store is stores[0] and st.is_leader,
        "raft_entries": st.commit_index,
        "errors": errors[0],
        "durable": "journal fdatasync before every acknowledgement (group commit)",
        "tuning": tuning.to_dict(),
        "cpus": os.cpu_count(),
    }
    for s in stores:
        s.stop()
    for p in procs:
        p.stdin.close()
        p.wait(timeout=5)
    print(json.dumps(result, indent=2))
    out = Path(__file__).resolve().parent / "results" / "store_throughput.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
