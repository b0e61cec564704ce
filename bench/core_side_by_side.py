"""The scheduler's core, old and new side by side in one run (issue 15's speed rule).

    .venv/bin/python bench/core_side_by_side.py [--baseline REV] [--quick]
        [--only placement,store,create,state] [--repeat N] [--cluster-placement]

REV defaults to ce5cdff (main when issue 15 began: the last commit before the typed
core). Both sides run from copies in a temporary directory: the baseline from
`git archive REV`, the current side from this checkout's working tree (tracked and
untracked files, uncommitted changes included), so neither writes into
bench/results/ of this checkout. Every measurement runs as a subprocess with
PYTHONPATH at one tree, using THAT tree's own benchmark code, baseline first,
then current, and the JSON holds both figures and current / baseline:

  placement  bench/placement_decide.py of each tree at 5,000 and 10,000 hosts
             (--quick: 1,000 and 2,000): placements per second (one planner
             decision plus its apply, in one process, no Raft) for basic,
             anti-affinity and zone spread. --cluster-placement adds
             bench/placement_scale.py (a 3-node cluster and the host simulator;
             the figures issue 15 quotes; tens of minutes per side).
  store      bench/store_throughput.py: durable commits per second on a 3-node
             loopback Raft cluster (10 s; --quick: 4 s).
  create     bench/api_create_latency.py: CreateInstance p50/p99 on an all-in-one
             cluster with its Docker agent (100 sequential + 100 concurrent;
             --quick: 30 + 30); skipped, saying why, without a Docker Engine.
  state      bench/_core_state.py: a state of 5,000 hosts and 50,000 instances
             (--quick: 1,000 and 10,000) made by each tree's placement_decide fleet
             and proposed through its RaftStore; the snapshot's size and write
             time, the time a store needs to reopen it, and the resident memory of
             the Raft process and of the scheduler-side process holding it.

--repeat N runs every measurement N times, alternating the sides, and reports
medians: on a shared two-core machine one round of the in-process figures swings
by a factor of two either way (compare a tree with itself: --baseline HEAD).
Ratios: for rates higher is better, for times, sizes and memory lower is better.
Writes bench/results/core_side_by_side.json.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import write  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "ce5cdff"
WORKLOADS = {"basic": "basic", "anti_affinity": "anti-affinity", "zone_spread": "zone-spread"}


def baseline_tree(rev: str, into: Path) -> str:
    """`git archive REV` unpacked into `into`; the full commit id."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--verify", f"{rev}^{{commit}}"],
                            capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", commit],
                             capture_output=True, check=True).stdout
    into.mkdir(parents=True)
    with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return commit


def current_tree(into: Path) -> str:
    """This checkout's files as they are now (committed or not) copied into `into`."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-co", "--exclude-standard", "-z"],
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            target = into / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"], capture_output=True,
                           text=True).stdout.strip()
    return head + ("+uncommitted" if dirty else "")


def in_tree(tree: Path, argv: list[str], timeout: float) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.run([sys.executable, *argv], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:2])} in {tree} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc


def bench_script(tree: Path, name: str, args: list[str], timeout: float) -> dict:
    """Run TREE/bench/NAME.py; its results file, as that tree's code wrote it."""
    in_tree(tree, [str(tree / "bench" / f"{name}.py"), *args], timeout)
    return json.loads((tree / "bench" / "results" / f"{name}.json").read_text())


def state_worker(tree: Path, phase: str, args: list[str], timeout: float) -> dict:
    code = ("import runpy, sys; sys.argv = ['_core_state.py'] + sys.argv[1:]; "
            f"runpy.run_path({str(REPO / 'bench' / '_core_state.py')!r}, run_name='__main__')")
    proc = in_tree(tree, ["-c", code, phase, str(tree), *args], timeout)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- measurements: tree -> flat {figure: number} ------------------------------------

def placement(tree: Path, quick: bool) -> dict:
    sizes = "1000,2000" if quick else "5000,10000"
    result = bench_script(tree, "placement_decide", ["--hosts", sizes], timeout=1800)
    figures = {}
    for size in result["sizes"]:
        for key, name in WORKLOADS.items():
            one = size[key]
            figures[f"{name}_{size['hosts']}_hosts_per_s"] = round(1e6 / (one["decide_us"] + one["apply_us"]), 1)
    return figures


def cluster_placement(tree: Path, quick: bool) -> dict:
    hosts = "1000,2000" if quick else "5000,10000"
    result = bench_script(tree, "placement_scale", ["--hosts", hosts], timeout=4 * 3600)
    return {f"{w}_{size}_hosts_per_s": rate for w, rates in result["rates"].items() for size, rate in rates.items()}


def store(tree: Path, quick: bool) -> dict:
    result = bench_script(tree, "store_throughput", ["--seconds", "4" if quick else "10"], timeout=600)
    return {"commits_per_s": result["commands_per_s"], "propose_p50_ms": result["propose_latency_ms"]["p50"],
            "propose_p99_ms": result["propose_latency_ms"]["p99"]}


def create(tree: Path, quick: bool) -> dict:
    n = "30" if quick else "100"
    result = bench_script(tree, "api_create_latency", ["--sequential", n, "--concurrent", n], timeout=1800)
    return {"create_p50_ms": result["sequential"]["p50_ms"], "create_p99_ms": result["sequential"]["p99_ms"],
            "concurrent_p50_ms": result["concurrent"]["p50_ms"], "concurrent_p99_ms": result["concurrent"]["p99_ms"],
            "concurrent_creates_per_s": result["concurrent"]["creates_per_s"]}


def state(tree: Path, quick: bool) -> dict:
    hosts, instances = (1000, 10000) if quick else (5000, 50000)
    work = Path(tempfile.mkdtemp(prefix="state-", dir=tree.parent))
    try:
        built = state_worker(tree, "build", [str(work), "--hosts", str(hosts), "--instances", str(instances)],
                             timeout=3600)
        loaded = state_worker(tree, "load", [str(work), "--address", built.pop("raft_address")], timeout=1800)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    assert (loaded["hosts"], loaded["instances"]) == (built["hosts"], built["instances"]), (built, loaded)
    return {**{k: v for k, v in built.items()}, **{k: v for k, v in loaded.items() if k not in ("hosts", "instances")}}


MEASUREMENTS = {"placement": placement, "store": store, "create": create, "state": state}
HIGHER_IS_BETTER = ("_per_s",)


def docker_missing() -> str:
    try:
        import docker
        docker.from_env(timeout=10).ping()
        return ""
    except Exception as err:  # noqa: BLE001 - the reason goes into the results
        return f"no Docker Engine ({err})"


def median_figures(runs: list[dict]) -> dict:
    """Per figure, the median over the rounds (the lower middle one for an even count)."""
    return {key: sorted(run[key] for run in runs)[(len(runs) - 1) // 2] if isinstance(runs[0][key], (int, float))
            else runs[0][key] for key in runs[0]}


def compare(baseline: dict, current: dict) -> dict:
    out = {}
    for key in baseline:
        old, new = baseline[key], current.get(key)
        entry = {"baseline": old, "current": new}
        if isinstance(old, (int, float)) and isinstance(new, (int, float)) and old:
            entry["ratio"] = round(new / old, 3)
            entry["better"] = "higher" if key.endswith(HIGHER_IS_BETTER) else "lower"
        out[key] = entry
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare with")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and shorter runs (a few minutes)")
    parser.add_argument("--only", default=",".join(MEASUREMENTS), help="comma-separated: " + ",".join(MEASUREMENTS))
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds per measurement (baseline, current, baseline, ...); figures are medians")
    parser.add_argument("--cluster-placement", action="store_true", help="also placement_scale.py (slow)")
    parser.add_argument("--name", default="core_side_by_side", help="results file bench/results/NAME.json")
    args = parser.parse_args(argv)
    chosen = [m for m in args.only.split(",") if m]
    unknown = set(chosen) - set(MEASUREMENTS)
    if unknown:
        parser.error(f"--only: unknown {', '.join(sorted(unknown))}")
    measurements = {m: MEASUREMENTS[m] for m in chosen}
    if args.cluster_placement:
        measurements["cluster_placement"] = cluster_placement
    root = Path(tempfile.mkdtemp(prefix="side-by-side-"))
    result: dict = {"quick": args.quick, "repeat": args.repeat, "results": {}, "skipped": {}}
    try:
        trees = {"baseline": root / "baseline", "current": root / "current"}
        result["baseline"] = {"rev": args.baseline, "commit": baseline_tree(args.baseline, trees["baseline"])}
        result["current"] = {"commit": current_tree(trees["current"])}
        for name, measure in measurements.items():
            if name in ("create", "cluster_placement"):
                reason = docker_missing()
                if reason:
                    result["skipped"][name] = reason
                    continue
            started = time.monotonic()
            rounds: dict[str, list[dict]] = {side: [] for side in trees}
            for _ in range(args.repeat):     # alternating sides, so drifting load hits both
                for side, tree in trees.items():
                    rounds[side].append(measure(tree, args.quick))
            figures = {side: median_figures(runs) for side, runs in rounds.items()}
            result["results"][name] = {**compare(figures["baseline"], figures["current"]),
                                       "seconds": round(time.monotonic() - started, 1)}
            write(args.name, result)     # after every measurement: a run cut short keeps its figures
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
