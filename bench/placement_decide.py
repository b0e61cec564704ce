"""Placement decisions alone, in one process: the planner against a full scan.

    .venv/bin/python bench/placement_decide.py [--hosts 500,1000,2500,5000]

Hosts join and instances are created through `ClusterState.apply` (as Raft
applies them, without Raft); per fleet size it reports microseconds per decision
(planner, and `place()` judging every host) and per apply, for the three workloads of
bench/placement_scale.py. No network, no threads: the cost of deciding itself.
"""
from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _cluster import write  # noqa: E402

from scheduler.placement import place  # noqa: E402
from scheduler.placement.planner import Planner, Settings  # noqa: E402
from scheduler.state.machine import ClusterState  # noqa: E402

GiB, MiB = 1024**3, 1024**2
IMAGE = "thecloud/busybox:test"
OVERCOMMIT = {"vcpus": 4.0, "memory_bytes": 1.0, "disk_bytes": 1.0}


class Fleet:
    def __init__(self, hosts: int):
        self.state = ClusterState()
        self.index = itertools.count(1)
        for i in range(hosts):
            labels = {"zone": f"z{i % 3 + 1}", "rack": f"r{i // 3 % 10 + 1:02d}"}
            self.apply("host.join", {"id": f"h-{i:05d}", "name": f"sim-{i:05d}", "address": "127.0.0.1:1",
                                     "capacity": {"vcpus": 64, "memory_bytes": 256 * GiB, "disk_bytes": 2048 * GiB},
                                     "drivers": ["compute:docker"], "labels": labels, "images": [IMAGE]})

    def apply(self, op, args):
        n = next(self.index)
        result = self.state.apply(op, args, {"rid": str(n), "ts": n, "index": n})
        assert "error" not in result, result
        return result


def spec(**placement) -> dict:
    return {"kind": "container", "image": IMAGE, "vcpus": 1, "memory_bytes": 64 * MiB, "disk_bytes": 0,
            "command": [], "env": {}, "restart_policy": "never", "host_labels": {}, **placement}


def run(fleet: Fleet, planner: Planner, specs, full_scan: bool = False) -> dict:
    decide = applied = 0.0
    for n, s in enumerate(specs):
        t0 = time.perf_counter()
        request = planner.request(fleet.state, "default", s)
        if full_scan:
            host_id = place(list(fleet.state.hosts.values()), request).host_id
        else:
            host_id = planner.place(fleet.state, request).host_id
        t1 = time.perf_counter()
        fleet.apply("instance.create", {"id": f"i-{next(fleet.index)}", "name": f"n-{next(fleet.index)}",
                                        "project": "default", "labels": {}, "spec": s, "host_id": host_id,
                                        "overcommit": OVERCOMMIT, "reserved": {}})
        applied += time.perf_counter() - t1
        decide += t1 - t0
    return {"decide_us": round(decide / len(specs) * 1e6, 1), "apply_us": round(applied / len(specs) * 1e6, 1)}


def measure(hosts: int) -> dict:
    fleet = Fleet(hosts)
    planner = Planner(Settings(overcommit=OVERCOMMIT))
    result = {"hosts": hosts, "basic": run(fleet, planner, [spec()] * 2000),
              "basic_full_scan": run(fleet, planner, [spec()] * 100, full_scan=True)}
    for g in range(10):
        fleet.apply("group.create", {"id": f"pg-aa{g}", "name": f"aa{g}", "project": "default",
                                     "policy": "anti-affinity", "domain": "host", "max_per_domain": 0, "soft": False})
        fleet.apply("group.create", {"id": f"pg-zs{g}", "name": f"zs{g}", "project": "default",
                                     "policy": "spread", "domain": "zone", "max_per_domain": 0, "soft": False})
    result["anti_affinity"] = run(fleet, planner, [spec(group=f"aa{g}") for g in range(10) for _ in range(50)])
    result["zone_spread"] = run(fleet, planner, [spec(group=f"zs{g}", constraints=["zone in z1,z2,z3", "rack!=r01"])
                                                 for g in range(10) for _ in range(50)])
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", default="500,1000,2500,5000")
    args = parser.parse_args(argv)
    write("placement_decide", {"sizes": [measure(int(n)) for n in args.hosts.split(",")]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
