"""Real agent processes on the real Docker Engine, reached over mutual TLS."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpcserve import secure_channel
from common.tls import TlsFiles, ensure_ca, issue, role_name
from proto.v1 import agent_pb2_grpc
from tests.conftest import REPO_ROOT, free_port

LOOPBACK_SANS = ["127.0.0.1", "localhost"]
STARTUP_TIMEOUT = 20.0


@pytest.fixture(scope="session")
def cluster_ca(tmp_path_factory) -> Path:
    return ensure_ca(tmp_path_factory.mktemp("ca"), "test")


@pytest.fixture(scope="session")
def scheduler_tls(cluster_ca, tmp_path_factory) -> TlsFiles:
    """The certificate a test presents when it plays the scheduler leader."""
    return issue(cluster_ca, tmp_path_factory.mktemp("scheduler-tls"), "test-scheduler",
                 "scheduler", LOOPBACK_SANS)


@dataclass
class AgentProcess:
    name: str
    config_path: Path
    port: int
    log_path: Path
    client_tls: TlsFiles
    proc: subprocess.Popen | None = None
    channels: list = field(default_factory=list)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "AgentProcess":
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agent.main", "--config", str(self.config_path)],
            cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})
        log.close()
        self._wait_serving()
        return self

    @property
    def server_name(self) -> str:
        """The name the agent's certificate must carry for a client to accept it."""
        return role_name("agent", self.name)

    def channel(self, tls: TlsFiles | None = None):
        """A channel to this agent presenting `tls` (default: the test scheduler's)."""
        channel = secure_channel(self.address, tls or self.client_tls, server_name=self.server_name)
        self.channels.append(channel)
        return channel

    def _wait_serving(self) -> None:
        channel = secure_channel(self.address, self.client_tls, server_name=self.server_name)
        health = health_pb2_grpc.HealthStub(channel)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    pytest.fail(f"agent {self.name} exited with {self.proc.returncode}:\n{self.log()}")
                try:
                    status = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=1)
                    if status.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.RpcError:
                    pass
                time.sleep(0.1)
        finally:
            channel.close()
        pytest.fail(f"agent {self.name} did not serve within {STARTUP_TIMEOUT}s:\n{self.log()}")

    def stub(self) -> agent_pb2_grpc.AgentStub:
        return agent_pb2_grpc.AgentStub(self.channel())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self, sig: int = signal.SIGKILL) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            return self.proc.wait(timeout=15)
        return self.proc.returncode if self.proc else 0

    def close(self) -> None:
        for channel in self.channels:
            channel.close()
        self.kill()


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f'"{k}" = {_toml(v)}' for k, v in value.items()) + "}"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def start_agent(cluster_ca, scheduler_tls, docker_client, busybox_image, tmp_path):
    """start_agent(name=None, **options) -> a running AgentProcess; every container of it is removed after."""
    agents: list[AgentProcess] = []

    def start(name: str | None = None, **options) -> AgentProcess:
        name = name or f"t-{uuid.uuid4().hex[:8]}"
        root = tmp_path / name
        tls_dir = root / "tls"
        issue(cluster_ca, tls_dir, name, "agent", LOOPBACK_SANS)
        port = free_port()
        settings = {"name": name, "listen": f"127.0.0.1:{port}", "data_dir": str(root / "data"),
                    "tls_dir": str(tls_dir), "stop_timeout": 3.0, "log_level": "debug",
                    **options}
        config_path = root / "agent.toml"
        config_path.write_text("".join(f"{k} = {_toml(v)}\n" for k, v in settings.items()))
        agent = AgentProcess(name, config_path, port, root / "agent.log", scheduler_tls)
        agents.append(agent)
        return agent.start()

    yield start
    for agent in agents:
        agent.close()
    for agent in {a.name for a in agents}:
        for container in docker_client.containers.list(
                all=True, filters={"label": f"thecloud.agent={agent}"}):
            container.remove(force=True, v=True)
