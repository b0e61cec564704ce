"""The agent's Prometheus metrics (served on `metrics_listen`, see docs/metrics.md):
Agent API latency by method, the host's capacity and measured usage, the
instances this agent runs by state, and the highest Raft term it has obeyed."""
from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily

from common.rpcobserve import ObservingInterceptor, rpc_histogram
from proto.v1 import resources_pb2

log = logging.getLogger(__name__)


class AgentMetrics:
    def __init__(self, host_name: str):
        self.host_name = host_name
        self.registry = CollectorRegistry()
        self.rpc = rpc_histogram(self.registry, "thecloud_agent")
        self.interceptors = [ObservingInterceptor(self.rpc)]

    def watch(self, usage, instances, fence) -> None:
        """Start reading `usage` (HostUsage), `instances` (HostInstances) and `fence` at scrape time."""
        self.registry.register(_HostCollector(self.host_name, usage, instances, fence))


class _HostCollector:
    def __init__(self, host_name, usage, instances, fence):
        self.host_name, self.usage, self.instances, self.fence = host_name, usage, instances, fence

    def describe(self):
        return []

    def collect(self):
        host = self.host_name
        capacity = self.usage.capacity()
        family = GaugeMetricFamily("thecloud_agent_capacity", "What this host offers to the cluster.",
                                   labels=["host", "resource"])
        for key in ("vcpus", "memory_bytes", "disk_bytes"):
            family.add_metric([host, key], getattr(capacity, key))
        yield family
        usage = self.usage.usage()
        family = GaugeMetricFamily("thecloud_agent_usage", "What psutil measures on this host now.",
                                   labels=["host", "measure"])
        for field in usage.DESCRIPTOR.fields:
            family.add_metric([host, field.name], getattr(usage, field.name))
        yield family
        family = GaugeMetricFamily("thecloud_agent_instances", "Instances of this agent, by observed state.",
                                   labels=["host", "state"])
        try:
            observed = self.instances.observe_all()
        except Exception as err:  # noqa: BLE001 - the engine may be down; the scrape still answers
            log.debug("cannot list instances for metrics: %s", err)
            observed = None
        if observed is not None:
            counts: dict[str, int] = {}
            for item in observed:
                name = resources_pb2.InstanceState.Name(item.state).removeprefix("INSTANCE_STATE_").lower()
                counts[name] = counts.get(name, 0) + 1
            for name in ("pending", "running", "stopped", "failed"):
                counts.setdefault(name, 0)
            for name, count in sorted(counts.items()):
                family.add_metric([host, name], count)
        yield family
        yield GaugeMetricFamily("thecloud_agent_engine_up", "1 when the compute engine answered the scrape.",
                                value=0 if observed is None else 1)
        yield GaugeMetricFamily("thecloud_agent_highest_term", "Highest scheduler Raft term this agent obeyed.",
                                value=self.fence.highest)
