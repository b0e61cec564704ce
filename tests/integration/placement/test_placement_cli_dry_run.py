"""`cloud instance create … --dry-run` as an operator runs it: a real cluster (3
schedulers, the real agent) plus 30 simulated hosts from the host simulator (a load
generator speaking the real node and agent APIs). The answer names the chosen host
and the top candidates with their scores, creates nothing, and a refusal says what
each filter removed."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from proto.v1 import public_pb2
from tests.conftest import REPO_ROOT, free_port
from tests.integration.cluster.cluster_harness import running_cluster

SIM_HOSTS = 30


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, docker_client, busybox_image):
    home = tmp_path_factory.mktemp("placement-cli")
    with running_cluster(home, docker_client, agent_overrides={"labels": {"zone": "lab"}}) as c:
        sim = subprocess.Popen(
            [sys.executable, "-m", "bench.hostsim.simulator", "--ca-dir", str(c.aio.ca_dir),
             "--schedulers", ",".join(c.aio.endpoints), "--listen", f"127.0.0.1:{free_port()}",
             "--count", str(SIM_HOSTS), "--zones", "3", "--racks", "3", "--prefix", "dry",
             "--cert-cache", str(REPO_ROOT / ".cache" / "hostsim")],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=open(home / "hostsim.log", "wb"))
        try:
            deadline = time.monotonic() + 90
            while c.status().hosts_up < SIM_HOSTS + 1:
                assert sim.poll() is None, (home / "hostsim.log").read_text()[-2000:]
                assert time.monotonic() < deadline, f"only {c.status().hosts_up} hosts up"
                time.sleep(0.5)
            yield c
        finally:
            sim.send_signal(signal.SIGTERM)
            try:
                sim.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sim.kill()


def cloud(fleet, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("THECLOUD_") and k != "XDG_CONFIG_HOME"}
    env["THECLOUD_CONFIG"] = str(fleet.aio.cli_config_path)
    script = Path(sys.executable).parent / "cloud"
    argv = [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]
    return subprocess.run([*argv, *args], env=env, capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)


def names(fleet) -> set[str]:
    reply = fleet.call("Instances", "ListInstances", public_pb2.ListInstancesRequest(page_size=1000))
    return {i.meta.name for i in reply.instances}


def test_dry_run_shows_the_chosen_host_and_the_top_candidates(fleet):
    proc = cloud(fleet, "instance", "create", "web", "--image", "thecloud/busybox:test",
                 "--constraint", "zone=z2", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith("placed on dry-") and f"of {SIM_HOSTS + 1} hosts fit)" in first
    assert "top candidates" in proc.stdout and "SCORE" in proc.stdout and "WEIGHERS" in proc.stdout
    assert "memory" in proc.stdout and "vcpus" in proc.stdout          # each weigher's part
    # What the other hosts were removed for: they are in another zone (or the real agent's).
    assert "removed:" in proc.stdout and "constraint" in proc.stdout
    assert "web" not in names(fleet)


def test_dry_run_json_ranks_the_candidates_and_names_the_best(fleet):
    proc = cloud(fleet, "-o", "json", "instance", "create", "api", "--image", "thecloud/busybox:test",
                 "--constraint", "zone in z1,z3", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    candidates = found["candidates"]
    assert found["placed"] and len(candidates) == 5
    assert candidates[0]["host_name"] == found["host_name"]
    scores = [c["score"] for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(set(c["weights"]) >= {"memory", "vcpus"} for c in candidates)
    zone_of = {h.meta.name: h.meta.labels.get("zone") for h in fleet.call(
        "Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=1000)).hosts}
    assert {zone_of[c["host_name"]] for c in candidates} <= {"z1", "z3"}
    assert "api" not in names(fleet)


def test_dry_run_refusal_says_what_each_filter_removed_and_exits_1(fleet):
    proc = cloud(fleet, "instance", "create", "huge", "--image", "thecloud/busybox:test", "--cpus", "512",
                 "--dry-run")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"0 of {SIM_HOSTS + 1} hosts fit: {SIM_HOSTS + 1} short of vcpus" in proc.stdout
    assert "huge" not in names(fleet)
