"""Three schedulers, each in its own network namespace, joined by a switch
namespace; the test process and one agent stay in the root namespace.

Cutting a scheduler's link on the switch partitions it from everyone (the other
schedulers, the agent and the clients) while its processes keep running — a
real partition, not a killed process. Only addresses of these namespaces are
ever used.
"""
from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path

from agent.config import AgentConfig
from common import config as configlib
from common import tls
from scheduler.config import SchedulerConfig

REPO = Path(__file__).resolve().parents[3]
API_PORT, RAFT_PORT = 7100, 7200


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


class NetnsCluster:
    def __init__(self, home: Path, agent_port: int):
        self.home = Path(home)
        tag = f"{os.getpid() % 10000:04d}{random.randrange(100):02d}"
        self.tag = tag
        self.subnet = f"10.{200 + random.randrange(50)}.{random.randrange(250)}"
        self.switch = f"tcsw{tag}"
        self.names = ["sched-1", "sched-2", "sched-3"]
        self.netns = {name: f"tc{n + 1}{tag}" for n, name in enumerate(self.names)}
        self.address = {name: f"{self.subnet}.{11 + n}" for n, name in enumerate(self.names)}
        self.root_address = f"{self.subnet}.1"
        self.agent_name = f"agent-p{tag}"
        self.agent_port = agent_port
        self.procs: dict[str, subprocess.Popen] = {}

    # -- the network -------------------------------------------------------------

    def _port_link(self, name: str) -> str:
        return f"p{self.names.index(name) + 1}{self.tag}"     # its end on the switch

    def build_network(self) -> None:
        ip("netns", "add", self.switch)
        ip("-n", self.switch, "link", "add", "br0", "type", "bridge")
        ip("-n", self.switch, "link", "set", "br0", "up")
        for name in self.names:
            ns, port = self.netns[name], self._port_link(name)
            ip("netns", "add", ns)
            ip("link", "add", port, "type", "veth", "peer", "name", f"e{port}")
            ip("link", "set", port, "netns", self.switch)
            ip("link", "set", f"e{port}", "netns", ns)
            ip("-n", ns, "link", "set", f"e{port}", "name", "eth0")
            ip("-n", ns, "addr", "add", f"{self.address[name]}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            ip("-n", self.switch, "link", "set", port, "master", "br0", "up")
        root = f"r{self.tag}"
        ip("link", "add", root, "type", "veth", "peer", "name", f"s{root}")
        ip("link", "set", f"s{root}", "netns", self.switch)
        ip("-n", self.switch, "link", "set", f"s{root}", "master", "br0", "up")
        ip("addr", "add", f"{self.root_address}/24", "dev", root)
        ip("link", "set", root, "up")

    def partition(self, name: str) -> None:
        ip("-n", self.switch, "link", "set", self._port_link(name), "down")

    def heal(self, name: str) -> None:
        ip("-n", self.switch, "link", "set", self._port_link(name), "up")

    def destroy_network(self) -> None:
        for ns in [*self.netns.values(), self.switch]:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        subprocess.run(["ip", "link", "del", f"r{self.tag}"], capture_output=True)

    # -- the daemons -------------------------------------------------------------

    @property
    def endpoints(self) -> list[str]:
        return [f"{self.address[n]}:{API_PORT}" for n in self.names]

    def prepare(self) -> None:
        ca, tls_dir, etc = self.home / "ca", self.home / "tls", self.home / "etc"
        tls.ensure_ca(ca, "partition")
        etc.mkdir(parents=True, exist_ok=True)
        secret = self.home / "cluster.key"
        secret.write_text(secrets.token_hex(32))
        secret.chmod(0o600)
        members = [{"name": n, "api": f"{self.address[n]}:{API_PORT}", "raft": f"{self.address[n]}:{RAFT_PORT}"}
                   for n in self.names]
        for name in self.names:
            tls.issue(ca, tls_dir, name, "scheduler", [self.address[name], "127.0.0.1"])
            config = SchedulerConfig(name=name, cluster_name="partition", listen=f"{self.address[name]}:{API_PORT}",
                                     raft_address=f"{self.address[name]}:{RAFT_PORT}", members=members,
                                     data_dir=self.home / "data" / name, tls_dir=tls_dir, secret_file=secret,
                                     host_down_after=30.0)
            (etc / f"{name}.toml").write_text(configlib.render(config, with_help=False))
        tls.issue(ca, tls_dir, self.agent_name, "agent", [self.root_address, "127.0.0.1"])
        tls.issue(ca, tls_dir, "admin", "admin", ["127.0.0.1"])
        agent = AgentConfig(name=self.agent_name, listen=f"{self.root_address}:{self.agent_port}",
                            schedulers=self.endpoints, data_dir=self.home / "data" / self.agent_name,
                            tls_dir=tls_dir, capacity_vcpus=64)
        (etc / f"{self.agent_name}.toml").write_text(configlib.render(agent, with_help=False))

    def start(self, name: str) -> None:
        log = self.home / "log" / f"{name}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        if name in self.netns:
            argv = ["ip", "netns", "exec", self.netns[name], sys.executable, "-m", "scheduler.main"]
        else:
            argv = [sys.executable, "-m", "agent.main"]
        with open(log, "ab") as out:
            self.procs[name] = subprocess.Popen(
                [*argv, "--config", str(self.home / "etc" / f"{name}.toml")],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=out)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def run_in(self, name: str, code: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run Python `code` inside `name`'s namespace (a client on the partitioned side)."""
        return subprocess.run(["ip", "netns", "exec", self.netns[name], sys.executable, "-c", code],
                              cwd=REPO, capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONPATH": str(REPO)})
