"""ansible/site.yml, run for real against "hosts" that are Docker containers with
systemd as PID 1 (image: scripts/setup.d/50-ops.sh).

The containers share this machine's network namespace and each gets its own
loopback address (127.0.X.Y), so every byte stays on loopback. Agents drive this
machine's Docker Engine through its socket. Three schedulers and two agents come
up healthy; a second run changes nothing; a sixth host added later joins; then a
`--tags upgrade` run moves every node, one at a time, from the wheel of the release
before (UPGRADE_FROM) to this tree's (ops_upgrade.py).
"""
from __future__ import annotations

import hashlib
import os
import random
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from cli.client import ClusterClient
from common.tls import TlsFiles
from proto.v1 import public_pb2, resources_pb2 as pb
from tests.conftest import REPO_ROOT, TEST_LABEL, TEST_SESSION, engine_missing

from ops_upgrade import check_rolling_upgrade

IMAGE = os.environ.get("OPS_HOST_IMAGE", "thecloud/debian-systemd:ops")
CACHE = Path(os.environ.get("OPS_CACHE", "/var/cache/thecloud/ops"))
SYSTEMD_FLAGS = ["--cap-add", "SYS_ADMIN", "--cap-add", "NET_ADMIN", "--security-opt", "seccomp=unconfined",
                 "--tmpfs", "/run", "--tmpfs", "/run/lock", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw"]
RECAP = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def _run(argv, timeout=600, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)


# The release the cluster is first installed from: the rolling upgrade then moves it to
# this tree (ops_upgrade.py), as an operator goes from the running release to the new
# one. c9df7db is main before issue 15 (typed state commands, the agent's own spec).
UPGRADE_FROM = os.environ.get("OPS_UPGRADE_FROM", "c9df7db")


def released_tree(tmp_path: Path) -> Path:
    """UPGRADE_FROM's source, from this checkout's history (`git archive`)."""
    tree = tmp_path / f"thecloud-{UPGRADE_FROM}"
    tree.mkdir()
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", UPGRADE_FROM],
                             capture_output=True, timeout=120)
    assert archive.returncode == 0, archive.stderr.decode()[-2000:]
    unpacked = subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, capture_output=True, timeout=120)
    assert unpacked.returncode == 0, unpacked.stderr.decode()[-2000:]
    return tree


def wheelhouse(tmp_path: Path) -> Path:
    """Dependencies' wheels cached by what they come from; thecloud's own wheel fresh,
    built from the release the cluster starts on (UPGRADE_FROM)."""
    key = hashlib.sha256((REPO_ROOT / "setup.cfg").read_bytes()).hexdigest()[:16]
    deps = CACHE / f"wheelhouse-{key}"
    python = str(REPO_ROOT / ".venv" / "bin" / "python")
    if not deps.is_dir():
        building = deps.with_name(deps.name + f".{os.getpid()}")
        done = _run([python, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w", str(building),
                     str(REPO_ROOT)], timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        for wheel in building.glob("thecloud-*.whl"):
            wheel.unlink()
        building.rename(deps)
    house = tmp_path / "wheelhouse"
    shutil.copytree(deps, house)
    done = _run([python, "-m", "pip", "wheel", "-q", "--no-deps", "--disable-pip-version-check", "-w", str(house),
                 str(released_tree(tmp_path))], timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return house


class Hosts:
    def __init__(self, prefix: str, net: int):
        self.prefix, self.net = prefix, net
        self.started: dict[str, str] = {}    # inventory name -> loopback address

    def start(self, name: str, agent: bool) -> None:
        address = f"127.0.{self.net}.{len(self.started) + 1}"
        argv = ["docker", "run", "-d", "--name", f"{self.prefix}-{name}", "--hostname", name,
                "--network", "host", "--label", f"{TEST_LABEL}={TEST_SESSION}", *SYSTEMD_FLAGS]
        if agent:
            argv += ["-v", "/var/run/docker.sock:/var/run/docker.sock"]
        done = _run(argv + [IMAGE])
        assert done.returncode == 0, done.stderr
        self.started[name] = address

    def wait_booted(self) -> None:
        for name in self.started:
            deadline = time.monotonic() + 60
            while True:
                state = _run(["docker", "exec", f"{self.prefix}-{name}", "systemctl", "is-system-running"]).stdout.strip()
                if state in ("running", "degraded"):
                    break
                assert time.monotonic() < deadline, f"{name}: systemd is {state!r}"
                time.sleep(0.5)

    def inventory(self, path: Path, schedulers: list[str], agents: list[str]) -> Path:
        def line(name):
            # The containers share this machine's loopback: metrics on each one's own address.
            return (f"{name} ansible_connection=community.docker.docker ansible_host={self.prefix}-{name} "
                    f"ansible_python_interpreter=/usr/bin/python3 thecloud_address={self.started[name]} "
                    f"thecloud_metrics_address={self.started[name]}")
        text = "[schedulers]\n" + "".join(line(n) + "\n" for n in schedulers)
        text += "[agents]\n" + "".join(line(n) + "\n" for n in agents)
        path.write_text(text)
        return path

    def remove(self) -> None:
        for name in self.started:
            _run(["docker", "rm", "-f", "-v", f"{self.prefix}-{name}"])


def playbook(inventory: Path, extra: dict, log: Path, tags: str = "") -> dict:
    """Run site.yml (only `tags` if given); {host: (ok, changed)} from the recap."""
    argv = ["ansible-playbook", "-i", str(inventory), "site.yml"] + (["--tags", tags] if tags else [])
    for key, value in extra.items():
        argv += ["-e", f"{key}={value}"]
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible" / "ansible.cfg"),
           "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    done = _run(argv, timeout=900, cwd=REPO_ROOT / "ansible", env=env)
    log.write_text(done.stdout + done.stderr)
    assert done.returncode == 0, f"ansible-playbook failed (log {log}):\n{done.stdout[-6000:]}\n{done.stderr[-2000:]}"
    recap = {m.group(1): (int(m.group(2)), int(m.group(3))) for m in RECAP.finditer(done.stdout)}
    assert recap, done.stdout[-3000:]
    return recap


def changed_tasks(log: Path) -> list[str]:
    tasks, current = [], ""
    for line in log.read_text().splitlines():
        if line.startswith("TASK ["):
            current = line
        elif line.startswith("changed:"):
            tasks.append(f"{current} {line}")
    return tasks


@pytest.fixture
def host_image(docker_client):
    if shutil.which("ansible-playbook") is None:
        engine_missing("ansible is not installed (scripts/packages.d/ops.txt; run `make venv`)")
    try:
        docker_client.images.get(IMAGE)
    except Exception:  # noqa: BLE001 - docker.errors.ImageNotFound and friends
        engine_missing(f"the host image {IMAGE} is missing; run `make images` (scripts/setup.d/50-ops.sh)")
    return IMAGE


# Five playbook runs on a busy 2-core machine: more than the suite's default 600 s.
@pytest.mark.timeout(1800)
def test_playbook_brings_up_a_cluster_idempotently_and_joins_a_new_host(host_image, docker_client, busybox_image,
                                                                        tmp_path):
    suffix = f"{random.randrange(16**4):04x}"
    schedulers = [f"s{i}-{suffix}" for i in (1, 2, 3)]
    agents = [f"a{i}-{suffix}" for i in (1, 2)]
    hosts = Hosts(f"tc-ops-{suffix}", random.randrange(20, 250))
    pki = tmp_path / "pki"
    extra = {"thecloud_pki_dir": pki, "thecloud_wheelhouse": wheelhouse(tmp_path),
             "thecloud_install_packages": "false", "thecloud_container_host": "true",
             "thecloud_cluster_name": "ops-test",
             "thecloud_source_dir": REPO_ROOT, "thecloud_controller_python": REPO_ROOT / ".venv/bin/python"}
    try:
        for name in schedulers:
            hosts.start(name, agent=False)
        for name in agents:
            hosts.start(name, agent=True)
        hosts.wait_booted()
        inventory = hosts.inventory(tmp_path / "inventory.ini", schedulers, agents)

        first = playbook(inventory, extra, tmp_path / "run1.log")
        assert all(first[name][1] > 0 for name in schedulers + agents), first

        second = playbook(inventory, extra, tmp_path / "run2.log")
        assert all(changed == 0 for _, changed in second.values()), \
            f"second run changed something: {second}\n" + "\n".join(changed_tasks(tmp_path / "run2.log"))

        client = ClusterClient([f"{hosts.started[n]}:7101" for n in schedulers],
                               TlsFiles(pki / "ca" / "ca.crt", pki / "certs" / "admin.crt", pki / "certs" / "admin.key"))
        try:
            status = client.call("Cluster", "GetStatus", public_pb2.GetClusterStatusRequest())
            assert status.leader and status.cluster_name == "ops-test"
            assert sorted(m.name for m in status.members if m.reachable) == sorted(schedulers)

            sixth = f"a3-{suffix}"
            hosts.start(sixth, agent=True)
            hosts.wait_booted()
            inventory = hosts.inventory(tmp_path / "inventory.ini", schedulers, agents + [sixth])
            third = playbook(inventory, extra, tmp_path / "run3.log")
            assert third[sixth][1] > 0
            assert all(third[name][1] == 0 for name in schedulers + agents), third
            listed = client.call("Hosts", "ListHosts", public_pb2.ListHostsRequest(page_size=100)).hosts
            assert {h.meta.name for h in listed if h.state == pb.HOST_STATE_UP} == set(agents + [sixth])

            def upgrade(log_name):
                return playbook(inventory, extra, tmp_path / log_name, tags="upgrade"), tmp_path / log_name
            check_rolling_upgrade(client, TlsFiles(pki / "ca" / "ca.crt", pki / "certs" / "admin.crt",
                                                   pki / "certs" / "admin.key"),
                                  docker_client, extra["thecloud_wheelhouse"], tmp_path / "upgrade",
                                  schedulers, agents + [sixth], upgrade)
        finally:
            client.close()
    finally:
        hosts.remove()
        for name in agents + [f"a3-{suffix}"]:
            for container in docker_client.containers.list(all=True, filters={"label": [f"thecloud.agent={name}"]}):
                container.remove(force=True)
