"""The rolling upgrade (`site.yml --tags upgrade`) checked on a cluster the Ansible
test has already brought up: a newer wheel, one node at a time, the public API
answering throughout, instances untouched, and a second run that changes nothing.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import grpc

from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common.tls import TlsFiles
from proto.v1 import iam_pb2, public_pb2, resources_pb2 as pb
from tests.conftest import REPO_ROOT

MiB = 1024**2
# A timeout, not a benchmark: one leader election plus a slow restart fit in it many times.
LONGEST_WRITE_GAP_S = 30.0
UPGRADE_TAG = "upgrade1"
_PACKAGES = ("proto", "common", "scheduler", "agent", "cli")


def base_version() -> str:
    match = re.search(r"^version\s*=\s*(\S+)\s*$", (REPO_ROOT / "setup.cfg").read_text(), re.M)
    assert match, "no version in setup.cfg"
    return match.group(1)


def build_newer_wheel(wheelhouse: Path, scratch: Path, version: str) -> None:
    """Build this very tree as `version` (say `0.1.0+upgrade1`) into `wheelhouse`.

    The same code under a higher PEP 440 version is what an operator's next
    release looks like to the playbook: a second thecloud wheel that sorts newer.
    """
    source = scratch / f"thecloud-{version}"
    source.mkdir(parents=True)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    setup_cfg = (REPO_ROOT / "setup.cfg").read_text()
    (source / "setup.cfg").write_text(
        re.sub(r"^version\s*=.*$", f"version = {version}", setup_cfg, count=1, flags=re.M))
    for package in _PACKAGES:
        shutil.copytree(REPO_ROOT / package, source / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    done = subprocess.run([str(REPO_ROOT / ".venv" / "bin" / "python"), "-m", "pip", "wheel", "-q", "--no-deps",
                           "--disable-pip-version-check", "-w", str(wheelhouse), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(wheelhouse.glob(f"thecloud-{version}-*.whl")), sorted(p.name for p in wheelhouse.glob("thecloud-*"))


@dataclass
class WriteProbe:
    """Writes and reads through the public API in a thread; how long writes stopped succeeding.

    Each round creates a project (a Raft write through whichever scheduler
    answers) and reads it back. A short retry budget per call makes an outage show
    up as a gap between successes instead of one slow call.
    """

    client: ClusterClient
    prefix: str
    successes: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self):
        self.started = time.monotonic()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        policy = RetryPolicy(call_timeout=3.0, budget=4.0)
        n = 0
        while not self.stop.is_set():
            name = f"{self.prefix}-{n}"
            n += 1
            try:
                self.client.call("Projects", "CreateProject", iam_pb2.CreateProjectRequest(name=name),
                                 write=True, policy=policy, ok_after_retry=(grpc.StatusCode.ALREADY_EXISTS,))
                got = self.client.call("Projects", "GetProject", iam_pb2.GetProjectRequest(name=name), policy=policy)
                if got.name == name:
                    self.successes.append(time.monotonic())
                else:
                    self.failures.append(f"{name}: read back {got.name!r}")
            except RpcFailure as err:
                self.failures.append(f"{name}: {err}")
            self.stop.wait(0.25)

    def finish(self) -> float:
        """Stop; the longest time without a successful write (start and end included)."""
        self.stop.set()
        self.thread.join(timeout=30)
        marks = [self.started, *self.successes, time.monotonic()]
        return max(b - a for a, b in zip(marks, marks[1:]))


def _restart_order(log: Path) -> list[str]:
    order, in_restart = [], False
    for line in log.read_text().splitlines():
        if line.startswith("TASK ["):
            in_restart = line.startswith("TASK [common : Restart the node]")
        elif in_restart and line.startswith("changed: ["):
            order.append(line.split("[", 1)[1].split("]", 1)[0])
    return order


def _start_instance(client: ClusterClient, name: str):
    client.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
        name=name, request_id=f"ops-upgrade-{name}",
        spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB,
                             command=["sleep", "3600"])), write=True)
    deadline = time.monotonic() + 90
    while True:
        instance = client.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=name))
        if instance.state == pb.INSTANCE_STATE_RUNNING and instance.runtime_id:
            return instance
        assert time.monotonic() < deadline, f"instance {name} never ran: {instance}"
        time.sleep(0.5)


def check_rolling_upgrade(client: ClusterClient, tls: TlsFiles, docker_client, wheelhouse: Path, scratch: Path,
                          schedulers: list[str], agents: list[str],
                          run_upgrade: Callable[[str], tuple[dict, Path]],
                          old_version: str = "", tag: str = UPGRADE_TAG) -> None:
    """`run_upgrade(log_name)` runs `site.yml --tags upgrade`: ({host: (ok, changed)}, its log).

    The cluster runs `old_version` (default: setup.cfg's) and moves to `<setup.cfg's>+<tag>`.
    """
    old_version = old_version or base_version()
    new_version = f"{base_version()}+{tag}"
    before = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    assert {m.name: m.version for m in before.members} == {n: old_version for n in schedulers}, before
    leader = before.leader
    kept = _start_instance(client, f"keep-{tag}")
    container = docker_client.containers.get(kept.runtime_id)
    started_at = container.attrs["State"]["StartedAt"]

    build_newer_wheel(wheelhouse, scratch, new_version)
    probe = WriteProbe(client=ClusterClient(client.endpoints, tls), prefix=f"upg-{tag}")
    try:
        recap, log = run_upgrade(f"{tag}.log")
    finally:
        longest_gap = probe.finish()
        probe.client.close()

    # One node at a time, every one of them: schedulers (followers, then the
    # leader), then agents.
    order = _restart_order(log)
    assert order == [n for n in order if n in schedulers] + [n for n in order if n in agents], order
    assert sorted(order) == sorted(schedulers + agents), order
    assert order[len(schedulers) - 1] == leader, f"the leader {leader} was not upgraded last: {order}"
    assert all(recap[name][1] > 0 for name in schedulers + agents), recap

    after = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
    assert after.leader, after
    assert {m.name: (m.reachable, m.version) for m in after.members} == \
        {n: (True, new_version) for n in schedulers}, after
    hosts = client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=100)).hosts
    assert {h.meta.name: (h.state, h.agent_version) for h in hosts} == \
        {n: (pb.HOST_STATE_UP, new_version) for n in agents}, hosts

    # Seen with `pytest -s`: the figure the bound below guards.
    print(f"rolling upgrade: {len(probe.successes)} writes, {len(probe.failures)} failed calls, "
          f"longest gap without a successful write {longest_gap:.1f}s")
    assert len(probe.successes) >= 10, probe.failures[-5:]
    assert longest_gap < LONGEST_WRITE_GAP_S, \
        f"no successful write for {longest_gap:.1f}s during the upgrade; last failures: {probe.failures[-5:]}"

    # Restarting the agents stopped none of the instances: same container, never restarted.
    instance = client.call("Instances", "GetInstance", public_pb2.GetInstanceRequest(name=kept.meta.name))
    assert instance.state == pb.INSTANCE_STATE_RUNNING and instance.runtime_id == kept.runtime_id, instance
    container.reload()
    assert container.status == "running" and container.attrs["State"]["StartedAt"] == started_at

    again, log = run_upgrade(f"{tag}-again.log")
    assert all(changed == 0 for _, changed in again.values()), f"a second upgrade changed something: {again}"
    assert _restart_order(log) == []
