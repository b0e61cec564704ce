"""A big cluster state in a real store: its snapshot's size, its load time, its memory.

Run by bench/core_side_by_side.py once per tree, never imported by it:

    python -c 'import runpy; runpy.run_path("bench/_core_state.py", run_name="__main__")' \
        build|load TREE WORKDIR [--hosts N --instances M]

(`runpy`, so that this file's own folder does not shadow TREE's bench/ on sys.path.)
Everything state-related comes from TREE: `build` makes the commands with TREE's
bench/placement_decide.py (hosts join, then each instance is placed by the planner
and created, exactly the `host.join` / `instance.create` commands a scheduler
proposes), proposes them through TREE's RaftStore (one node, durable journal), asks
its Raft process for a snapshot and stops. `load`, in a fresh process, times what a
scheduler does at start on that data directory (RaftStore.start: the Raft process
unpickles the snapshot, the mirror receives the state; then a barrier, so the
time includes the election of its one-node cluster) and reports the resident
memory of both processes holding the state. One JSON object on stdout.
"""
from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import pickle
import shutil
import socket
import sys
import time
from pathlib import Path

BATCH = 500
PASSWORD = "side-by-side-bench-password"
MACHINE = "scheduler.state.machine:ClusterState"


def use_tree(tree: Path) -> None:
    sys.path[:0] = [str(tree / "bench"), str(tree)]


def rss_mb(pid: int) -> float:
    import psutil
    return round(psutil.Process(pid).memory_info().rss / 2**20, 1)


def free_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


def recorded_commands(hosts: int, instances: int) -> tuple[list[tuple[str, dict]], dict]:
    """The commands placement_decide's fleet applies, in order, and the state they make."""
    import placement_decide

    commands: list[tuple[str, dict]] = []

    class RecordingFleet(placement_decide.Fleet):
        def apply(self, op, args):
            commands.append((op, args))
            return super().apply(op, args)

    from scheduler.placement.planner import Planner, Settings
    t0 = time.perf_counter()
    fleet = RecordingFleet(hosts)
    planner = Planner(Settings(overcommit=placement_decide.OVERCOMMIT))
    placement_decide.run(fleet, planner, [placement_decide.spec()] * instances)
    built_s = time.perf_counter() - t0
    state = fleet.state
    t0 = time.perf_counter()
    plain = state.to_dict()
    to_dict_s = time.perf_counter() - t0
    return commands, {"hosts": len(state.hosts), "instances": len(state.instances),
                      "build_in_process_s": round(built_s, 1), "to_dict_s": round(to_dict_s, 3),
                      "json_bytes": len(json.dumps(plain, separators=(",", ":")))}


def build(tree: Path, work: Path, hosts: int, instances: int) -> dict:
    from scheduler.store.base import make_command
    from scheduler.store.client import RaftStore

    commands, facts = recorded_commands(hosts, instances)
    address = free_address()
    store = RaftStore(MACHINE, address, [], work / "raft", PASSWORD)
    store.start()
    t0 = time.perf_counter()
    ts = int(time.time() * 1000)
    for start in range(0, len(commands), BATCH):
        batch = [make_command(op, args, rid=f"bench-{start + n}", ts=ts + start + n)
                 for n, (op, args) in enumerate(commands[start:start + BATCH])]
        results = store.propose(batch, timeout=120)
        refused = [r for r in results if "error" in r]
        assert not refused, refused[0]
    facts["propose_s"] = round(time.perf_counter() - t0, 1)
    before = store.status().snapshots_written
    t0 = time.perf_counter()
    store.compact()
    while store.status().snapshots_written <= before:
        time.sleep(0.05)
    facts["snapshot_write_s"] = round(time.perf_counter() - t0, 2)
    store.stop()
    facts["snapshot_bytes"] = (work / "raft" / "snapshot").stat().st_size
    facts["journal_bytes_after_compaction"] = (work / "raft" / "journal").stat().st_size
    facts["raft_address"] = address
    return facts


def load(tree: Path, work: Path, address: str) -> dict:
    from scheduler.store.base import load_machine_class
    from scheduler.store.client import RaftStore

    load_machine_class(MACHINE)     # imports outside the timed part
    gc.collect()
    own_before = rss_mb(os.getpid())
    t0 = time.perf_counter()
    with gzip.open(work / "raft" / "snapshot", "rb") as f:
        dump = pickle.load(f)     # what the Raft process does with it (from_dict included)
    unpickle_s = time.perf_counter() - t0
    del dump
    gc.collect()
    scratch = work / "reopen"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(work / "raft", scratch, ignore=shutil.ignore_patterns("raft.sock", "raft.lock"))
    own_base = rss_mb(os.getpid())
    t0 = time.perf_counter()
    store = RaftStore(MACHINE, address, [], scratch, PASSWORD)
    store.start()
    store.barrier(timeout=120)     # leader of its one-node cluster, snapshot and tail applied, mirror caught up
    start_s = time.perf_counter() - t0
    try:
        with store.read_lock:
            machine = store.read()
            counts = {"hosts": len(machine.hosts), "instances": len(machine.instances)}
        gc.collect()
        return {**counts, "snapshot_unpickle_s": round(unpickle_s, 2), "store_ready_s": round(start_s, 2),
                "raft_process_rss_mb": rss_mb(store.raft_pid),
                "owner_rss_mb": rss_mb(os.getpid()), "owner_rss_before_mb": own_base,
                "owner_state_mb": round(rss_mb(os.getpid()) - own_base, 1),
                "interpreter_rss_mb": own_before}
    finally:
        store.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("phase", choices=["build", "load"])
    parser.add_argument("tree", type=Path)
    parser.add_argument("work", type=Path)
    parser.add_argument("--hosts", type=int, default=5000)
    parser.add_argument("--instances", type=int, default=50000)
    parser.add_argument("--address", default="")
    args = parser.parse_args(argv)
    use_tree(args.tree)
    if args.phase == "build":
        out = build(args.tree, args.work, args.hosts, args.instances)
    else:
        out = load(args.tree, args.work, args.address)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
