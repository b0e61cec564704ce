"""Start a throw-away all-in-one cluster for a benchmark, and write results."""
from __future__ import annotations

import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cli import allinone_ports  # noqa: E402
from cli.allinone import AllInOne  # noqa: E402
from cli.client import ClusterClient, RetryPolicy  # noqa: E402
from common.tls import TlsFiles  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def free_base_port() -> int:
    return allinone_ports.free_base_port()


@contextlib.contextmanager
def allinone(agent_vcpus: int = 4096, scheduler_overrides: dict | None = None):
    home = Path(tempfile.mkdtemp(prefix="thecloud-bench-"))
    aio = AllInOne(home, free_base_port(), agent_overrides={"capacity_vcpus": agent_vcpus},
                   scheduler_overrides=scheduler_overrides)
    aio.up(wait=True)
    try:
        yield aio, home
    finally:
        aio.down(purge=True)
        _remove_containers(aio.agent_name)


def _remove_containers(agent_name: str) -> None:
    import docker
    client = docker.from_env()
    for c in client.containers.list(all=True, filters={"label": [f"thecloud.agent={agent_name}"]}):
        c.remove(force=True)


def client_for(aio, home, call_timeout=5.0, budget=15.0) -> ClusterClient:
    return ClusterClient(aio.endpoints, TlsFiles.in_dir(home / "tls", "admin"),
                         write_policy=RetryPolicy(call_timeout=call_timeout, budget=budget,
                                                  first_backoff=0.02, max_backoff=0.1))


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def summary_ms(seconds: list[float]) -> dict:
    ms = [s * 1000 for s in seconds]
    return {"count": len(ms), "p50_ms": round(percentile(ms, 50), 2), "p90_ms": round(percentile(ms, 90), 2),
            "p99_ms": round(percentile(ms, 99), 2), "max_ms": round(max(ms), 2),
            "mean_ms": round(statistics.fmean(ms), 2)}


def write(name: str, result: dict) -> None:
    result = {"benchmark": name, "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
              "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
