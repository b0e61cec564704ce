"""Where the time goes: py-spy samples of the leader scheduler, its Raft process and
the host simulator while a workload runs, summed by function and by subsystem.

Used by bench/placement_scale.py --profile (py-spy: requirements-placement.txt).
"""
from __future__ import annotations

import collections
import contextlib
import shutil
import subprocess
import sys
from pathlib import Path

# Frames are attributed to the first subsystem whose marker appears in the stack,
# innermost first.
SUBSYSTEMS = [
    ("placement (planner, filters, weighers)", ("scheduler/placement/",)),
    ("state machine apply", ("scheduler/state/",)),
    ("store client, mirror, batching", ("scheduler/store/client.py", "scheduler/store/mirror.py",
                                        "scheduler/store/replicated.py")),
    ("Raft (pysyncobj, journal, fsync)", ("pysyncobj/", "scheduler/store/journal.py",
                                          "scheduler/store/raft_node.py", "scheduler/store/process.py")),
    ("JSON", ("json/",)),
    ("reconciler and drain", ("scheduler/leader/reconciler.py", "scheduler/leader/drain.py", "scheduler/leader/reconcile_pacing.py",
                              "scheduler/leader/rescheduler.py")),
    ("node API (heartbeats)", ("scheduler/api/node.py", "scheduler/leader/liveness.py")),
    ("public API servicers", ("scheduler/api/",)),
    ("gRPC and protobuf", ("grpc/", "google/protobuf")),
    ("host simulator", ("bench/hostsim/",)),
]


def py_spy() -> str | None:
    here = Path(sys.executable).parent / "py-spy"
    return str(here) if here.exists() else shutil.which("py-spy")


def summarize(raw: Path, top: int = 15) -> dict:
    """Collapsed stacks ("a;b;c N") -> share of samples per subsystem and hottest leaves."""
    by_subsystem: collections.Counter = collections.Counter()
    by_leaf: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        idle = frames[-1].startswith(("wait (threading", "select (", "poll (", "_wait_once",
                                      "read (scheduler/store/framing"))
        label = "idle/waiting" if idle else "other"
        if not idle:
            for name, markers in SUBSYSTEMS:
                if any(m in f for f in reversed(frames) for m in markers):
                    label = name
                    break
        by_subsystem[label] += n
        if not idle:
            by_leaf[frames[-1]] += n
    share = {k: round(100 * v / total, 1) for k, v in by_subsystem.most_common()} if total else {}
    return {"samples": total, "percent_by_subsystem": share,
            "hottest_functions_percent": {k: round(100 * v / total, 1) for k, v in by_leaf.most_common(top)}}


@contextlib.contextmanager
def profiling(pids: dict[str, int], out_dir: Path, seconds: int, results: dict):
    """Sample every pid in `pids` (name -> pid) for up to `seconds` while the block runs."""
    tool = py_spy()
    if tool is None:
        results["error"] = "py-spy is not installed (pip install -r requirements-placement.txt)"
        yield
        return
    out_dir.mkdir(parents=True, exist_ok=True)
    procs = {name: subprocess.Popen([tool, "record", "--pid", str(pid), "--duration", str(seconds),
                                     "--rate", "50", "--format", "raw", "--nonblocking",
                                     "--output", str(out_dir / f"{name}.txt")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name, pid in pids.items()}
    try:
        yield
    finally:
        for name, proc in procs.items():
            proc.send_signal(2)    # SIGINT: py-spy writes what it has and exits
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
            raw = out_dir / f"{name}.txt"
            results[name] = summarize(raw) if raw.exists() else {"error": "no samples"}
