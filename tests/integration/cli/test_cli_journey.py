"""The `cloud` command against a real all-in-one cluster: three schedulers, one agent, Docker.

Runs the launcher (`cli.allinone.AllInOne`) in a temporary home on free ports and
drives `cloud` as a subprocess, the way an operator would. Without the daemons or
the Docker Engine this skips on a developer machine and fails under CI=true.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli.allinone import AllInOne, AllInOneError
from proto.v1 import public_pb2
from tests.conftest import engine_missing

pytestmark = [pytest.mark.integration, pytest.mark.docker]

REPO = Path(__file__).resolve().parents[3]
IMAGE = "thecloud/busybox:test"
# Prints a line (for `logs`) and then serves HTTP in the foreground.
WEB_COMMAND = "sh -c 'echo hello-from-web1; exec httpd -f -p 8080'"


def _ports_free(ports) -> bool:
    for port in ports:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _free_base_port() -> int:
    """A base port whose whole range (API, Raft, agent) is free right now."""
    for base in range(21000 + os.getpid() % 50 * 400, 60000, 400):
        if _ports_free([base + 1, base + 2, base + 3, base + 101, base + 102, base + 103, base + 200]):
            return base
    raise RuntimeError("no free port range for an all-in-one cluster")


def _daemon_importable(module: str) -> str | None:
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        return (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return None


def _cloud_argv() -> list[str]:
    script = Path(sys.executable).parent / "cloud"
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


class Cloud:
    """Runs `cloud …` against one cluster, configured only by THECLOUD_CONFIG."""

    def __init__(self, config: Path):
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("THECLOUD_") and k != "XDG_CONFIG_HOME"}
        self.env["THECLOUD_CONFIG"] = str(config)

    def __call__(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([*_cloud_argv(), *args], env=self.env, capture_output=True,
                              text=True, timeout=timeout, cwd=REPO)

    def ok(self, *args: str, **kw) -> subprocess.CompletedProcess:
        proc = self(*args, **kw)
        assert proc.returncode == 0, f"cloud {' '.join(args)} -> {proc.returncode}: {proc.stderr}"
        return proc

    def json(self, *args: str):
        return json.loads(self.ok("-o", "json", *args).stdout)


@pytest.fixture(scope="module")
def aio(tmp_path_factory, docker_client, busybox_image):
    for module in ("scheduler.main", "agent.main"):
        problem = _daemon_importable(module)
        if problem:
            engine_missing(f"`python -m {module}` does not run yet: {problem}")
    home = tmp_path_factory.mktemp("allinone")
    cluster = AllInOne(home, _free_base_port())
    try:
        cluster.up(wait=True, timeout=90)
    except AllInOneError as err:
        cluster.down(timeout=5)
        pytest.fail(f"the all-in-one cluster did not come up: {err}", pytrace=False)
    yield cluster
    # Delete what the tests left, so that no container outlives the cluster.
    with cluster.client() as client:
        try:
            left = client.list_all("Instances", "ListInstances",
                                   public_pb2.ListInstancesRequest(), "instances").instances
            for inst in left:
                client.call("Instances", "DeleteInstance",
                            public_pb2.DeleteInstanceRequest(name=inst.meta.name), write=True)
        except Exception:  # noqa: BLE001 - best effort; the label sweep below follows
            pass
    deadline = time.monotonic() + 30
    label = {"label": f"thecloud.agent={cluster.agent_name}"}
    while docker_client.containers.list(all=True, filters=label) and time.monotonic() < deadline:
        time.sleep(0.5)
    cluster.down()
    for container in docker_client.containers.list(all=True, filters=label):
        container.remove(force=True)


@pytest.fixture(scope="module")
def cloud(aio) -> Cloud:
    return Cloud(aio.cli_config_path)


def test_cluster_status_lists_every_member(cloud, aio):
    table = cloud.ok("cluster", "status").stdout
    for name in ("sched-1", "sched-2", "sched-3"):
        assert name in table
    assert "LEADER" in table
    status = cloud.json("cluster", "status")
    assert status["leader"] in ("sched-1", "sched-2", "sched-3")
    assert [m["reachable"] for m in status["members"]] == [True, True, True]
    assert {m["api_address"] for m in status["members"]} == set(aio.endpoints)


def test_hosts(cloud, aio):
    listing = cloud.ok("host", "list").stdout
    assert aio.agent_name in listing and "UP" in listing
    hosts = cloud.json("host", "list")["hosts"]
    assert [h["meta"]["name"] for h in hosts] == [aio.agent_name]
    shown = cloud.ok("host", "show", aio.agent_name).stdout
    for field in ("capacity", "allocated", "usage", "drivers", "last heartbeat", "compute:docker"):
        assert field in shown


def test_instance_journey(cloud, aio):
    created = cloud.ok("instance", "create", "web1", "--image", IMAGE, "--cpus", "1",
                       "--memory", "64M", "--command", WEB_COMMAND, "--label", "tier=web",
                       "--env", "GREETING=hi", "--wait", "--timeout", "60")
    assert "web1 is RUNNING" in created.stdout

    assert "web1" in cloud.ok("instance", "list").stdout
    assert "web1" in cloud.ok("instance", "list", "--host", aio.agent_name).stdout
    inst = cloud.json("instance", "show", "web1")
    assert inst["state"] == "INSTANCE_STATE_RUNNING"
    assert inst["host_name"] == aio.agent_name and inst["runtime_id"]
    assert inst["spec"]["command"] == ["sh", "-c", "echo hello-from-web1; exec httpd -f -p 8080"]
    assert inst["spec"]["memory_bytes"] == 64 << 20
    assert inst["meta"]["labels"] == {"tier": "web"} and inst["spec"]["env"] == {"GREETING": "hi"}
    shown = cloud.ok("instance", "show", "web1").stdout
    assert "RUNNING" in shown and "64M" in shown and inst["runtime_id"] in shown

    deadline = time.monotonic() + 20
    while "hello-from-web1" not in (logs := cloud.ok("instance", "logs", "web1").stdout):
        assert time.monotonic() < deadline, f"no greeting in the logs: {logs!r}"
        time.sleep(0.5)
    assert cloud.ok("instance", "logs", "web1", "--tail", "1").stdout.strip() == "hello-from-web1"

    stopped = cloud.ok("instance", "stop", "web1", "--wait", "--timeout", "60")
    assert "web1 is STOPPED" in stopped.stdout or "web1 is FAILED" in stopped.stdout
    started = cloud.ok("instance", "start", "web1", "--wait", "--timeout", "60")
    assert "web1 is RUNNING" in started.stdout

    assert "deleted" in cloud.ok("instance", "delete", "web1", "--wait", "--timeout", "60").stdout
    gone = cloud("instance", "show", "web1")
    assert gone.returncode == 1
    assert gone.stderr.startswith("error: NOT_FOUND: ") and "web1" in gone.stderr


def test_create_without_wait_returns_at_once_then_json_parses(cloud):
    started = time.monotonic()
    created = cloud.json("instance", "create", "quick1", "--image", IMAGE, "--memory", "32M",
                         "--command", "httpd -f -p 8080")
    assert time.monotonic() - started < 10
    assert created["meta"]["name"] == "quick1" and created["meta"]["id"]
    names = [i["meta"]["name"] for i in cloud.json("instance", "list")["instances"]]
    assert "quick1" in names
    cloud.ok("instance", "delete", "quick1", "--wait")


def test_unknown_instance_is_not_found_exit_1(cloud):
    for args in (["instance", "show", "nope"], ["instance", "stop", "nope"],
                 ["instance", "logs", "nope"], ["instance", "delete", "nope"]):
        proc = cloud(*args)
        assert proc.returncode == 1, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: NOT_FOUND: "), proc.stderr


def test_bad_input_is_a_usage_error_exit_2(cloud):
    proc = cloud("instance", "create", "web2", "--image", IMAGE, "--memory", "lots")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "--memory" in proc.stderr and "lots" in proc.stderr


def test_duplicate_name_is_already_exists(cloud):
    cloud.ok("instance", "create", "dup1", "--image", IMAGE, "--memory", "32M",
             "--command", "httpd -f -p 8080")
    proc = cloud("instance", "create", "dup1", "--image", IMAGE, "--memory", "32M")
    assert proc.returncode == 1 and proc.stderr.startswith("error: ALREADY_EXISTS: ")
    cloud.ok("instance", "delete", "dup1", "--wait")


def test_create_survives_a_leader_kill(cloud, aio):
    leader = cloud.json("cluster", "status")["leader"]
    aio.stop_node(leader, signal.SIGKILL)
    try:
        created = cloud.ok("instance", "create", "after-kill", "--image", IMAGE, "--memory", "32M",
                           "--command", "httpd -f -p 8080", "--wait", "--timeout", "60")
        assert "after-kill is RUNNING" in created.stdout
        names = [i["meta"]["name"] for i in cloud.json("instance", "list")["instances"]]
        assert names.count("after-kill") == 1
        status = cloud.json("cluster", "status")
        assert status["leader"] and status["leader"] != leader
        assert [m["reachable"] for m in status["members"] if m["name"] == leader] == [False]
    finally:
        aio.start_node(leader)
    aio.wait_healthy(60)
    cloud.ok("instance", "delete", "after-kill", "--wait")


def test_unreachable_cluster_exits_3(cloud, tmp_path, aio):
    proc = cloud("--endpoint", "127.0.0.1:1", "cluster", "status")
    assert proc.returncode == 3
    assert proc.stderr.startswith("error: UNAVAILABLE: ") and "127.0.0.1:1" in proc.stderr
