"""Placement at fleet scale: a 3-node scheduler cluster, thousands of simulated hosts.

    .venv/bin/python bench/placement_scale.py [--hosts 500,1000,2000,5000] [--instances 10000]
        [--workloads basic,anti-affinity,zone-spread] [--profile]

Hosts come from the host simulator (bench/hostsim, a load generator speaking the
real node and agent APIs over mTLS). Instances are created through the public
API's batch call (Placement.CreateInstances, one placement decision per instance,
committed through Raft before the call answers); the rate counts committed
placements only. Workloads, in the spirit of Kubernetes' scheduler_perf:
  basic          capacity only;
  anti-affinity  hard anti-affinity across hosts, groups of 50;
  zone-spread    hard spread over zones, plus a label constraint (gpu!=none).
Each host count gets a fresh cluster and every workload, with min(--instances,
4 x hosts) instances each. Every workload also reports the CPU time each placement
cost, per process (bench/_placement_cpu.py), also net of the fleet's background
load (measured for 8 s once the fleet settled, before the workloads). With --profile, py-spy samples the
leader scheduler, its Raft process and the simulator during the basic workload at
the largest size (bench/_placement_profile.py); the summary goes into the results.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent import futures
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import free_base_port, write  # noqa: E402
from _placement_cpu import cpu_per_placement, idle_load, roles  # noqa: E402
from _placement_profile import profiling  # noqa: E402

from cli.allinone import AllInOne  # noqa: E402
from cli.client import ClusterClient, RetryPolicy  # noqa: E402
from cli.errors import RpcFailure  # noqa: E402
from proto.v1 import placement_pb2, public_pb2, resources_pb2 as pb  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
MiB = 1024**2
BATCH = 250
CLIENTS = 4
IDLE_SECONDS = 8.0     # the fleet's background load, measured before the workloads


@contextlib.contextmanager
def cluster(home: Path):
    aio = AllInOne(home, free_base_port(), agent_overrides={"capacity_vcpus": 64})
    try:
        aio.up(wait=True)     # inside the try: a cluster that never became healthy is stopped too
        yield aio
    finally:
        aio.down(purge=True)


@contextlib.contextmanager
def simulator(aio: AllInOne, home: Path, count: int):
    port = free_base_port() + 5
    log = open(home / "hostsim.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.hostsim.simulator", "--ca-dir", str(aio.ca_dir),
         "--schedulers", ",".join(aio.endpoints), "--listen", f"127.0.0.1:{port}", "--count", str(count),
         "--cert-cache", str(REPO / ".cache" / "hostsim")],
        cwd=REPO, stdout=log, stderr=log)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def client(aio: AllInOne) -> ClusterClient:
    return ClusterClient(aio.endpoints, aio.admin_tls,
                         write_policy=RetryPolicy(call_timeout=60.0, budget=120.0, first_backoff=0.05))


def wait_hosts(c: ClusterClient, count: int, timeout: float = 300.0) -> float:
    start = time.monotonic()
    up = 0
    while time.monotonic() - start < timeout:
        try:
            up = c.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest()).hosts_up
        except RpcFailure:
            pass     # busy with thousands of joins: ask again
        if up >= count:
            return time.monotonic() - start
        time.sleep(1.0)
    raise RuntimeError(f"only {up} of {count} hosts up after {timeout}s")


def spec(**placement) -> pb.InstanceSpec:
    return pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=64 * MiB, **placement)


def run_workload(c: ClusterClient, name: str, instances: int, spec_of, batch: int = BATCH) -> dict:
    """Create `instances` in batches from CLIENTS threads; the rate of committed placements."""
    batches = [(f"{name}-{n:04d}", min(batch, instances - n * batch))
               for n in range((instances + batch - 1) // batch)]
    latencies: list[float] = []
    failures: list[str] = []

    def one(item):
        prefix, count = item
        t = time.monotonic()
        try:
            reply = c.call("Placement", "CreateInstances", placement_pb2.CreateInstancesRequest(
                template=public_pb2.CreateInstanceRequest(name=prefix, spec=spec_of(prefix), request_id=prefix),
                count=count), write=True)
        except RpcFailure as err:     # counted, not fatal: the figure says how many were placed
            failures.append(f"{prefix}: {err}")
            return 0
        latencies.append(time.monotonic() - t)
        return len(reply.instances)

    start = time.monotonic()
    with futures.ThreadPoolExecutor(CLIENTS) as pool:
        placed = sum(pool.map(one, batches))
    elapsed = time.monotonic() - start
    latencies = sorted(latencies) or [0.0]     # no batch answered: still a result
    return {"instances": placed, "seconds": round(elapsed, 2), "placements_per_s": round(placed / elapsed, 1),
            "batch": batch, "clients": CLIENTS, "batch_p50_s": round(latencies[len(latencies) // 2], 3),
            "batch_max_s": round(latencies[-1], 3), "failed_batches": len(failures),
            **({"first_failure": failures[0][:300]} if failures else {})}


def make_groups(c: ClusterClient, prefix: str, count: int, policy: str, domain: str) -> None:
    for n in range(count):
        c.call("Placement", "CreateGroup", placement_pb2.CreateGroupRequest(
            name=f"{prefix}-{n:04d}", policy=policy, domain=domain), write=True)


def workloads(c: ClusterClient, names: list[str], instances: int, profiler=None, pids=None,
              idle=None) -> dict:
    results = {}

    def timed(name: str, run, profile: bool = False) -> dict:
        out: dict = {}
        with contextlib.ExitStack() as stack:
            if profile and profiler:
                stack.enter_context(profiler(name))
            if pids:
                stack.enter_context(cpu_per_placement(pids, out, idle))
            out.update(run())
        return out

    if "basic" in names:
        results["basic"] = timed("basic", lambda: run_workload(c, "basic", instances, lambda prefix: spec()),
                                 profile=True)
    if "anti-affinity" in names:
        # One batch = one group of 50 members, no two on the same host.
        make_groups(c, "aa", instances // 50, "anti-affinity", "host")
        results["anti-affinity"] = timed("anti-affinity", lambda: run_workload(
            c, "aa", instances // 50 * 50, lambda prefix: spec(group=prefix), batch=50))
        results["anti-affinity"]["group_size"] = 50
    if "zone-spread" in names:
        # One batch = one group spread evenly over the zones, on hosts outside rack r01.
        make_groups(c, "zs", (instances + BATCH - 1) // BATCH, "spread", "zone")
        results["zone-spread"] = timed("zone-spread", lambda: run_workload(
            c, "zs", instances,
            lambda prefix: spec(group=prefix, constraints=["zone in z1,z2,z3", "rack!=r01"])))
        results["zone-spread"]["constraints"] = ["zone in z1,z2,z3", "rack!=r01"]
    return results


def leader_pids(aio: AllInOne, c: ClusterClient, sim) -> dict[str, int]:
    leader = c.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest()).leader
    pid = aio.pid(leader)
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return {"leader_scheduler": pid, "leader_raft_process": int(children[0]), "host_simulator": sim.pid}


def measure(hosts: int, instances: int, names: list[str], profile: bool = False) -> dict:
    # One home for every run: its CA stays, so the simulator's 5,000 host certificates
    # are issued once per machine (cached by CA); data and logs are purged after each run.
    home = REPO / ".cache" / "placement-bench"
    home.mkdir(parents=True, exist_ok=True)
    for leftover in ("data", "log"):     # of a run that was interrupted: start from nothing
        shutil.rmtree(home / leftover, ignore_errors=True)
    with cluster(home) as aio, simulator(aio, home, hosts) as sim:
        c = client(aio)
        joined_s = wait_hosts(c, hosts + 1)
        result = {"hosts": hosts, "hosts_up_after_s": round(joined_s, 1)}
        profiler = None
        if profile:
            result["profile"] = {}
            profiler = lambda name: profiling(leader_pids(aio, c, sim), home / "profiles", 120,  # noqa: E731
                                              result["profile"])
        leader = c.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest()).leader
        result["leader"] = leader
        pids = roles(aio, leader, sim.pid)
        # Let the fleet settle first: a new leader's first sweep calls every host once.
        time.sleep(min(30.0, hosts / 200))
        result["idle_cpu_percent_of_a_core"] = idle_load(pids, IDLE_SECONDS)
        result.update(workloads(c, names, instances, profiler, pids, result["idle_cpu_percent_of_a_core"]))
        try:
            status = c.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
            result["instances_in_state"] = status.instances
        except RpcFailure as err:     # a cluster overwhelmed by a shared machine: keep the figures
            result["instances_in_state"] = f"unknown: {err}"
        result["load_average_1m"] = os.getloadavg()[0]
        c.close()
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="500,1000,2000,5000", help="host counts, one cluster each")
    parser.add_argument("--instances", type=int, default=10000, help="per workload (at most 4 per host)")
    parser.add_argument("--workloads", default="basic,anti-affinity,zone-spread")
    parser.add_argument("--profile", action="store_true", help="py-spy during basic at the largest size")
    parser.add_argument("--name", default="placement_scale", help="results file bench/results/NAME.json")
    args = parser.parse_args(argv)
    names = args.workloads.split(",")
    sizes = sorted(int(n) for n in args.hosts.split(","))
    result: dict = {"sizes": [], "targets_at_5000_hosts": {"basic": 1000, "anti-affinity": 300, "zone-spread": 500}}
    for n in sizes:
        result["sizes"].append(measure(n, min(args.instances, 4 * n), names, args.profile and n == sizes[-1]))
        result["rates"] = {w: {str(s["hosts"]): s[w]["placements_per_s"] for s in result["sizes"]} for w in names}
        write(args.name, result)     # after every size: a run cut short still leaves its figures
    return 0


if __name__ == "__main__":
    sys.exit(main())
