"""The scheduler's options: /etc/thecloud/scheduler.toml, THECLOUD_SCHEDULER_*, flags."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from common.metrics_options import MetricsOptions
from common.config import ConfigError, load, option


@dataclass
class Member:
    """One scheduler node: its name, public API address and Raft address."""

    name: str
    api: str
    raft: str


@dataclass
class SchedulerConfig(MetricsOptions):
    name: str = option("sched-1", "This node's name; must be one of `members`.")
    cluster_name: str = option("thecloud", "The cluster's name, shown by `cloud cluster status`.")
    listen: str = option("127.0.0.1:7101", "Address of the public API (mTLS); it serves the node API too, "
                                           "for agents that know no `node_listen`.")
    node_listen: str = option("", "Address of the node API (agents' joins and heartbeats) on a server and "
                                  "workers of its own, which no user call can take; empty: only on `listen`.")
    api_workers: int = option(32, "Worker threads of the public API for unary calls (streams get "
                                  "`streams_total` more).")
    node_workers: int = option(16, "Worker threads of the node API server (`node_listen`).")
    streams_per_principal: int = option(16, "Open watch streams one caller may hold on this node; "
                                            "more are refused (RESOURCE_EXHAUSTED).")
    streams_total: int = option(256, "Open watch streams this node serves at most (each holds a worker).")
    api_max_message_mb: int = option(8, "Largest request the public API accepts, in MiB (a `cloud cluster "
                                         "restore` archive must fit).")
    node_max_message_mb: int = option(4, "Largest request the node API accepts, in MiB.")
    raft_address: str = option("127.0.0.1:7201", "Address Raft binds to; only the cluster network.")
    members: list = option([], "Every scheduler node, self included: tables with name, api, raft.")
    data_dir: Path = option(Path("/var/lib/thecloud/scheduler"), "Raft journal, snapshots and the IPC socket.")
    tls_dir: Path = option(Path("/etc/thecloud/tls"), "Holds ca.crt, <name>.crt and <name>.key.")
    secret_file: Path = option(Path("/etc/thecloud/secrets/cluster.key"),
                               "The cluster secret: Raft password and join-token key (mode 0600).")
    log_level: str = option("info", "debug, info, warning or error.")
    log_json: bool = option(False, "Log one JSON object per line.")
    auth_failure_burst: int = option(20, "Failed token authentications one source address may make "
                                         "in a row before it is refused for a while (per node).")
    auth_failures_per_minute: float = option(10.0, "How fast a source earns back failed authentications.")
    max_tokens_per_principal: int = option(50, "Live (unrevoked, unexpired) API tokens one user or service "
                                               "account may hold; creating one more is refused; 0: no cap.")
    audit_retention_entries: int = option(100_000, "Audit log entries kept (the oldest go first).")
    audit_retention_days: float = option(90.0, "Audit log entries older than this are dropped; 0: keep.")
    audit_refusal_window: float = option(60.0, "Seconds over which repeated refusals of one caller, source, "
                                               "method and outcome are folded into one audit entry.")
    enroll_listen: str = option("", "Address of the enrollment endpoint (server-only TLS, join tokens); empty: off.")
    ca_key_file: Path = option(Path("/etc/thecloud/ca/ca.key"), "The cluster CA's key, to sign enrolling nodes' certificates (mode 0600).")
    certificate_lifetime: float = option(30 * 86400.0, "Seconds a certificate signed at enrollment or renewal is valid; "
                                                       "agents renew when a third of it is left.")
    host_down_after: float = option(10.0, "Seconds without a heartbeat before a host is marked down.")
    heartbeat_interval: float = option(1.0, "Seconds between agent heartbeats (told to agents on join).")
    reconcile_interval: float = option(1.0, "Seconds between full reconcile passes on the leader.")
    agent_call_timeout: float = option(30.0, "Deadline of one call to an agent, in seconds.")
    placement_strategy: str = option("spread", "spread (most free host first) or binpack.")
    cpu_overcommit: float = option(4.0, "vCPUs placed per host core.")
    memory_overcommit: float = option(1.0, "Memory placed per byte of host memory.")
    disk_overcommit: float = option(1.0, "Disk placed per byte of host disk.")
    volume_overcommit: float = option(4.0, "Volume bytes provisioned per byte of a host's thin volume pool.")
    reserved_vcpus: int = option(0, "vCPUs of every host kept for the host itself (never placed).")
    reserved_memory_mb: int = option(0, "MiB of memory of every host kept for the host itself.")
    reserved_disk_mb: int = option(0, "MiB of disk of every host kept for the host itself.")
    placement_candidates: int = option(6, "Placement stops looking after this many hosts fit and takes "
                                          "the best of them (more: better choices, slower).")
    heartbeats_per_second: float = option(250.0, "Heartbeats the cluster asks for at most: agents are told "
                                                 "to beat every max(heartbeat_interval, hosts / this) s "
                                                 "(20 s at 5,000 hosts; each beat is an mTLS call).")
    liveness_flush_interval: float = option(1.0, "Seconds between the writes that record which hosts "
                                                 "heartbeated (one Raft command for all of them).")
    floating_ip_pool: str = option("", "IPv4 range (CIDR) of floating IPs, routed to or on the gateway hosts' "
                                       "underlay; empty: no floating IPs.")
    usage_write_interval: float = option(30.0, "A host's usage figures are written through Raft at most "
                                               "this often (changes of state are written at once).")

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
