"""The agent's configuration: /etc/thecloud/agent.toml, THECLOUD_AGENT_* variables, flags.

Every option is declared here once, with its default and its help; the sample
file (`thecloud-agent sample-config`) is rendered from these declarations.
"""
from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from agent.compute.imagefetch import FetchPolicy, check_allow
from agent.compute.select import DRIVERS, driver_names
from common.metrics_options import MetricsOptions
from common.config import ConfigError, load, option
from common.ids import NAME_RE
from common.units import parse_size

DEFAULT_PATH = Path("/etc/thecloud/agent.toml")
ENV_PREFIX = "THECLOUD_AGENT_"
COMPUTE_DRIVERS = DRIVERS
NETWORK_DRIVERS = ("linuxbridge", "none")
STORAGE_DRIVERS = ("lvm", "file", "none")
LOG_LEVELS = ("debug", "info", "warning", "error")

_ADDRESS_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})\Z")


def _check_address(field: str, value: str) -> None:
    match = _ADDRESS_RE.match(value)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ConfigError(f"{field}: {value!r} is not a host:port address")


@dataclass
class AgentConfig(MetricsOptions):
    name: str = option(socket.gethostname().split(".")[0].lower(),
                       "This host's name in the cluster; also names its certificate <tls_dir>/<name>.crt.")
    listen: str = option("127.0.0.1:7300", "Address (host:port) the Agent API listens on.")
    advertise: str = option("", "Address the schedulers dial to reach this agent; empty means `listen`.")
    schedulers: list[str] = option([], "API addresses (host:port) of the scheduler nodes; any of them accepts a join.")
    scheduler_node_api: list[str] = option([], "Node API addresses (the schedulers' `node_listen`) that joins and "
                                               "heartbeats go to, away from user traffic; empty: `schedulers`.")
    data_dir: Path = option(Path("/var/lib/thecloud/agent"), "Where the agent keeps its journal.")
    tls_dir: Path = option(Path("/etc/thecloud/tls"), "Directory holding ca.crt, <name>.crt and <name>.key.")
    compute_driver: str = option("docker", "Compute drivers, comma-separated: docker (containers), libvirt (VMs), or docker,libvirt.")
    libvirt_uri: str = option("qemu:///system", "libvirt connection URI of the libvirt driver.")
    vm_dir: str = option("", "Where VM disks, seed ISOs, consoles and the image cache live; every directory above it must be o+x for the qemu user. Empty: <data_dir>/vms.")
    image_file_dirs: list[str] = option([], "Directories file: image URLs may be read from (real paths, symlinks resolved); empty: no file: images on this host.")
    image_fetch_allow: list[str] = option([], "Where http(s) images may be fetched from: CIDRs, host names, and `public` for every public address; empty: public addresses only (never loopback, private, link-local, CGNAT or multicast).")
    image_max_bytes: str = option("64G", "Largest image file the agent fetches (e.g. 64G); a bigger Content-Length or body is refused.")
    image_fetch_timeout: float = option(30.0, "Seconds an image fetch may wait to connect or for the next bytes.")
    virt_type: str = option("auto", "Domain type: auto (kvm where a KVM guest really runs, else qemu), kvm or qemu.")
    docker_host: str = option("", "Docker Engine endpoint (e.g. unix:///var/run/docker.sock); empty means DOCKER_HOST or the default socket.")
    stop_timeout: float = option(10.0, "Seconds a stopping instance gets between SIGTERM and SIGKILL.")
    container_pids_limit: int = option(1024, "Most processes (and threads) one container may have at once; a fork bomb stops there.")
    labels: dict[str, str] = option({}, "Host labels reported at join; instances may require them for placement.")
    capacity_vcpus: int = option(0, "vCPUs offered to the cluster; 0 detects the host's CPUs.")
    capacity_memory: str = option("", "Memory offered to the cluster (e.g. 8G); empty detects the host's memory.")
    capacity_disk: str = option("", "Disk offered to the cluster (e.g. 100G); empty detects the size of data_dir's filesystem.")
    heartbeat_interval: float = option(1.0, "Seconds between heartbeats unless the scheduler asks for another interval.")
    log_level: str = option("info", "Log level: debug, info, warning or error.")
    log_json: bool = option(False, "Log one JSON object per line instead of plain text.")
    network_driver: str = option("linuxbridge", "VPC network driver: linuxbridge, or none (no VPC ports on this host).")
    vtep_address: str = option("", "Underlay IPv4 address of this host's VXLAN tunnels; empty: the address part of `advertise` (else `listen`) when it is an IPv4 address.")
    storage_driver: str = option("file", "Volume storage driver: lvm (a thin pool in `storage_lvm_vg`), file (qcow2 files in `storage_dir`), or none.")
    storage_lvm_vg: str = option("thecloud", "The LVM volume group holding the thin pool (lvm driver).")
    storage_lvm_pool: str = option("thecloud-pool", "The thin pool in `storage_lvm_vg`; created in 90% of the free space when missing.")
    storage_dir: str = option("", "Directory of the file driver's images; empty: <data_dir>/volumes.")
    storage_capacity: str = option("", "Pool size the file driver reports (e.g. 100G); empty: the size of storage_dir's filesystem.")

    @property
    def advertise_address(self) -> str:
        return self.advertise or self.listen

    @property
    def node_api_addresses(self) -> list[str]:
        """Where joins and heartbeats go."""
        return list(self.scheduler_node_api or self.schedulers)

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
        for address in self.scheduler_node_api:
            _check_address("scheduler_node_api", address)
        driver_names(self.compute_driver)
        if self.virt_type not in ("auto", "kvm", "qemu"):
            raise ConfigError(f"virt_type: {self.virt_type!r} is not one of auto, kvm, qemu")
        for directory in self.image_file_dirs:
            if not Path(directory).is_absolute():
                raise ConfigError(f"image_file_dirs: {directory!r} is not an absolute path")
        try:
            check_allow(self.image_fetch_allow)
        except ValueError as err:
            raise ConfigError(f"image_fetch_allow: {err}") from None
        try:
            if parse_size(self.image_max_bytes) <= 0:
                raise ValueError(f"{self.image_max_bytes!r} is not positive")
        except ValueError as err:
            raise ConfigError(f"image_max_bytes: {err}") from None
        if self.image_fetch_timeout <= 0:
            raise ConfigError("image_fetch_timeout: must be positive")
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
        if self.container_pids_limit < 16:
            raise ConfigError("container_pids_limit: must be at least 16")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ConfigError(f"log_level: {self.log_level!r} is not one of {', '.join(LOG_LEVELS)}")
        if self.storage_driver not in STORAGE_DRIVERS:
            raise ConfigError(f"storage_driver: {self.storage_driver!r} is not one of {', '.join(STORAGE_DRIVERS)}")
        if self.storage_capacity:
            try:
                if parse_size(self.storage_capacity) <= 0:
                    raise ValueError(f"{self.storage_capacity!r} is not positive")
            except ValueError as err:
                raise ConfigError(f"storage_capacity: {err}") from None
        if self.network_driver not in NETWORK_DRIVERS:
            raise ConfigError(f"network_driver: {self.network_driver!r} is not one of {', '.join(NETWORK_DRIVERS)}")
        if self.vtep_address:
            try:
                ipaddress.IPv4Address(self.vtep_address)
            except ValueError:
                raise ConfigError(f"vtep_address: {self.vtep_address!r} is not an IPv4 address") from None
        return self

    @property
    def vtep(self) -> str:
        """The VXLAN underlay address, "" when there is none to use."""
        if self.vtep_address:
            return self.vtep_address
        host = self.advertise_address.rpartition(":")[0].strip("[]")
        try:
            return str(ipaddress.IPv4Address(host))
        except ValueError:
            return ""

    @property
    def fetch_policy(self) -> FetchPolicy:
        return FetchPolicy(file_dirs=tuple(self.image_file_dirs), allow=tuple(self.image_fetch_allow),
                           max_bytes=parse_size(self.image_max_bytes), timeout=self.image_fetch_timeout)

    @property
    def memory_bytes(self) -> int:
        return parse_size(self.capacity_memory) if self.capacity_memory else 0

    @property
    def disk_bytes(self) -> int:
        return parse_size(self.capacity_disk) if self.capacity_disk else 0


def load_config(path: Path | None, overrides: dict | None = None) -> AgentConfig:
    """The validated config from `path` (skipped when absent), the environment and `overrides`."""
    return load(AgentConfig, path, ENV_PREFIX, overrides).validate()
