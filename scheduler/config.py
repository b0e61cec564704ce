"""The scheduler's options: /etc/thecloud/scheduler.toml, THECLOUD_SCHEDULER_*, flags."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.config import ConfigError, load, option


@dataclass
class Member:
    """One scheduler node: its name, public API address and Raft address."""

    name: str
    api: str
    raft: str


@dataclass
class SchedulerConfig:
    name: str = option("sched-1", "This node's name; must be one of `members`.")
    cluster_name: str = option("thecloud", "The cluster's name, shown by `cloud cluster status`.")
    listen: str = option("127.0.0.1:7101", "Address of the public API and the node API (mTLS).")
    raft_address: str = option("127.0.0.1:7201", "Address Raft binds to; only the cluster network.")
    members: list = option([], "Every scheduler node, self included: tables with name, api, raft.")
    data_dir: Path = option(Path("/var/lib/thecloud/scheduler"), "Raft journal, snapshots and the IPC socket.")
    tls_dir: Path = option(Path("/etc/thecloud/tls"), "Holds ca.crt, <name>.crt and <name>.key.")
    secret_file: Path = option(Path("/etc/thecloud/secrets/cluster.key"),
                               "The cluster secret: Raft password and join-token key (mode 0600).")
    log_level: str = option("info", "debug, info, warning or error.")
    log_json: bool = option(False, "Log one JSON object per line.")
    host_down_after: float = option(10.0, "Seconds without a heartbeat before a host is marked down.")
    heartbeat_interval: float = option(1.0, "Seconds between agent heartbeats (told to agents on join).")
    reconcile_interval: float = option(1.0, "Seconds between full reconcile passes on the leader.")
    agent_call_timeout: float = option(30.0, "Deadline of one call to an agent, in seconds.")
    placement_strategy: str = option("spread", "spread (most free host first) or binpack.")
    cpu_overcommit: float = option(4.0, "vCPUs placed per host core.")
    memory_overcommit: float = option(1.0, "Memory placed per byte of host memory.")
    disk_overcommit: float = option(1.0, "Disk placed per byte of host disk.")

    def member_list(self) -> list[Member]:
        members = [Member(**m) for m in self.members] or [Member(self.name, self.listen, self.raft_address)]
        if self.name not in {m.name for m in members}:
            raise ConfigError(f"name {self.name!r} is not one of the members")
        return members

    def me(self) -> Member:
        return next(m for m in self.member_list() if m.name == self.name)

    def overcommit(self) -> dict:
        return {"vcpus": self.cpu_overcommit, "memory_bytes": self.memory_overcommit,
                "disk_bytes": self.disk_overcommit}


def load_config(path: Path | None, overrides: dict | None = None) -> SchedulerConfig:
    config = load(SchedulerConfig, path, "THECLOUD_SCHEDULER_", overrides)
    config.member_list()
    if config.placement_strategy not in ("spread", "binpack"):
        raise ConfigError("placement_strategy must be spread or binpack")
    return config
