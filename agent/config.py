"""The agent's configuration: /etc/thecloud/agent.toml, THECLOUD_AGENT_* variables, flags.

Every option is declared here once, with its default and its help; the sample
file (`thecloud-agent sample-config`) is rendered from these declarations.
"""
from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from pathlib import Path

from common.config import ConfigError, load, option
from common.ids import NAME_RE
from common.units import parse_size

DEFAULT_PATH = Path("/etc/thecloud/agent.toml")
ENV_PREFIX = "THECLOUD_AGENT_"
COMPUTE_DRIVERS = ("docker",)
LOG_LEVELS = ("debug", "info", "warning", "error")

_ADDRESS_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def _check_address(field: str, value: str) -> None:
    match = _ADDRESS_RE.match(value)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ConfigError(f"{field}: {value!r} is not a host:port address")


@dataclass
class AgentConfig:
    name: str = option(socket.gethostname().split(".")[0].lower(),
                       "This host's name in the cluster; also names its certificate <tls_dir>/<name>.crt.")
    listen: str = option("127.0.0.1:7300", "Address (host:port) the Agent API listens on.")
    advertise: str = option("", "Address the schedulers dial to reach this agent; empty means `listen`.")
    schedulers: list[str] = option([], "API addresses (host:port) of the scheduler nodes; any of them accepts a join.")
    data_dir: Path = option(Path("/var/lib/thecloud/agent"), "Where the agent keeps its journal.")
    tls_dir: Path = option(Path("/etc/thecloud/tls"), "Directory holding ca.crt, <name>.crt and <name>.key.")
    compute_driver: str = option("docker", "Compute driver: docker.")
    docker_host: str = option("", "Docker Engine endpoint (e.g. unix:///var/run/docker.sock); empty means DOCKER_HOST or the default socket.")
    stop_timeout: float = option(10.0, "Seconds a stopping instance gets between SIGTERM and SIGKILL.")
    labels: dict[str, str] = option({}, "Host labels reported at join; instances may require them for placement.")
    capacity_vcpus: int = option(0, "vCPUs offered to the cluster; 0 detects the host's CPUs.")
    capacity_memory: str = option("", "Memory offered to the cluster (e.g. 8G); empty detects the host's memory.")
    capacity_disk: str = option("", "Disk offered to the cluster (e.g. 100G); empty detects the size of data_dir's filesystem.")
    heartbeat_interval: float = option(1.0, "Seconds between heartbeats unless the scheduler asks for another interval.")
    log_level: str = option("info", "Log level: debug, info, warning or error.")
    log_json: bool = option(False, "Log one JSON object per line instead of plain text.")

    @property
    def advertise_address(self) -> str:
        return self.advertise or self.listen

    def validate(self) -> "AgentConfig":
        """Check every option; raise ConfigError naming the first bad one."""
        if not NAME_RE.match(self.name):
            raise ConfigError(f"name: {self.name!r} is not a valid host name (1-63 lowercase "
                              "letters, digits or '-', starting and ending with a letter or digit)")
        _check_address("listen", self.listen)
        if self.advertise:
            _check_address("advertise", self.advertise)
        for address in self.schedulers:
            _check_address("schedulers", address)
        if self.compute_driver not in COMPUTE_DRIVERS:
            raise ConfigError(f"compute_driver: {self.compute_driver!r} is not one of "
                              f"{', '.join(COMPUTE_DRIVERS)}")
        if self.capacity_vcpus < 0:
            raise ConfigError("capacity_vcpus: must be 0 (detect) or positive")
        for field in ("capacity_memory", "capacity_disk"):
            value = getattr(self, field)
            if value:
                try:
                    if parse_size(value) <= 0:
                        raise ValueError(f"{value!r} is not positive")
                except ValueError as err:
                    raise ConfigError(f"{field}: {err}") from None
        if self.heartbeat_interval <= 0:
            raise ConfigError("heartbeat_interval: must be positive")
        if self.stop_timeout < 0:
            raise ConfigError("stop_timeout: must not be negative")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        return self

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.capacity_memory) if self.capacity_memory else 0

    @property
    def disk_bytes(self) -> int:
        return parse_size(self.capacity_disk) if self.capacity_disk else 0


def load_config(path: Path | None, overrides: dict | None = None) -> AgentConfig:
    """The validated config from `path` (skipped when absent), the environment and `overrides`."""
    return load(AgentConfig, path, ENV_PREFIX, overrides).validate()
