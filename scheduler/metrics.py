"""The scheduler's Prometheus metrics (served on `metrics_listen`, see docs/metrics.md).

Counted as things happen: Raft commit latency (around every proposal this node
makes), placements and placement failures (from the applied commands, so every
scheduler counts the whole cluster's), reconcile passes, and gRPC handling time.
Read at scrape time: Raft role, term, commit and applied indexes, instances by
state, hosts by state, each host's capacity, allocation and measured usage.
"""
from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from common.rpcobserve import BUCKETS, rpc_histogram
from scheduler.state import records as r
from scheduler.store.base import make_command

log = logging.getLogger(__name__)

ROLES = ("leader", "follower", "candidate")
RESOURCES = ("vcpus", "memory_bytes", "disk_bytes")


class SchedulerMetrics:
    def __init__(self, store, config):
        self.store = store
        self.config = config
        self.registry = CollectorRegistry()
        self.rpc = rpc_histogram(self.registry, "thecloud_scheduler")
        self.commit = Histogram("thecloud_raft_commit_seconds",
                                "Time from proposing a batch to its commit and local apply.",
                                ["kind"], buckets=BUCKETS, registry=self.registry)
        self.placements = Counter("thecloud_placements_total", "Instances placed on a host.",
                                  registry=self.registry)
        self.placement_failures = Counter("thecloud_placement_failures_total",
                                          "Placements refused, by reason.", ["reason"],
                                          registry=self.registry)
        self.reconcile_passes = Counter("thecloud_reconcile_passes_total",
                                        "Reconcile passes started on this node while leader.",
                                        registry=self.registry)
        self.reconcile_host_passes = Counter("thecloud_reconcile_host_passes_total",
                                             "Per-host reconcile passes, by outcome.", ["outcome"],
                                             registry=self.registry)
        self.reconcile_seconds = Histogram("thecloud_reconcile_host_pass_seconds",
                                           "Time one host's reconcile pass took.",
                                           buckets=BUCKETS, registry=self.registry)
        self._last_pass = 0.0
        self.registry.register(_StateCollector(self))
        self._unwatch = store.watch(self._on_applied)

    def watch_iam(self, iam) -> None:
        """Open streams and audit entries dropped on a full queue, read at scrape time."""
        self.registry.register(_IamCollector(iam))

    # -- counted as they happen ----------------------------------------------------

    def _on_applied(self, index, commands, results) -> None:
        # On the store's reader thread: count and return.
        if commands is None:
            return
        for command, result in zip(commands, results):
            if "error" in result:
                continue
            if command["op"] == "instance.create":
                self.placements.inc()
            elif command["op"] == "event.placement_failed":
                self.placement_failures.labels(command["args"].get("category", "other")).inc()

    def instrument_reconciler(self, reconciler) -> None:
        """Time the reconciler's passes without changing it: wrap its two entry points
        (instance attributes shadow the methods its loop calls)."""
        whole_pass, host_pass = reconciler.reconcile, reconciler.reconcile_host

        def reconcile(term):
            self.reconcile_passes.inc()
            self._last_pass = time.time()
            return whole_pass(term)

        def reconcile_host(host, term):
            started, outcome = time.monotonic(), "error"
            try:
                result = host_pass(host, term)
                outcome = "ok"
                return result
            finally:
                self.reconcile_seconds.observe(time.monotonic() - started)
                self.reconcile_host_passes.labels(outcome).inc()

        reconciler.reconcile, reconciler.reconcile_host = reconcile, reconcile_host

    def timed_store(self, store):
        return _TimedStore(store, self.commit)

    def close(self) -> None:
        self._unwatch()


class _TimedStore:
    """The store, with every proposal's commit latency observed."""

    def __init__(self, store, histogram):
        self._store, self._histogram = store, histogram

    def __getattr__(self, name):
        return getattr(self._store, name)

    def propose(self, commands, timeout: float = 5.0):
        started = time.monotonic()
        results = self._store.propose(commands, timeout=timeout)
        self._histogram.labels("batch" if len(commands) > 1 else "single").observe(time.monotonic() - started)
        return results

    def propose_one(self, op, args, rid=None, ts=None, timeout: float = 5.0):
        return self.propose([make_command(op, args, rid, ts)], timeout=timeout)[0]


class _StateCollector:
    """Gauges read from the Raft status and the local replica at scrape time."""

    def __init__(self, metrics: SchedulerMetrics):
        self.metrics = metrics

    def describe(self):
        return []

    def collect(self):
        store = self.metrics.store
        yield from self._raft(store)
        with store.read_lock:
            state = store.read()
            instances = [i["state"] for i in state.instances.values()]
            pending = sum(1 for i in state.instances.values()
                          if i["desired_generation"] > i["ensured_generation"] and i["state"] != r.DELETING)
            hosts = [dict(h) for h in state.hosts.values()]
            retained, last_seq = len(state.events), state.event_seq
        by_state = GaugeMetricFamily("thecloud_instances", "Instances by state.", labels=["state"])
        for name in r.INSTANCE_STATES:
            by_state.add_metric([name], instances.count(name))
        yield by_state
        hosts_by_state = GaugeMetricFamily("thecloud_hosts", "Hosts by state.", labels=["state"])
        for name in (r.HOST_UP, r.HOST_DOWN):
            hosts_by_state.add_metric([name], sum(1 for h in hosts if h.get("state") == name))
        yield hosts_by_state
        capacity = GaugeMetricFamily("thecloud_host_capacity", "What a host offers.", labels=["host", "resource"])
        allocated = GaugeMetricFamily("thecloud_host_allocated", "What placed instances take of a host.",
                                      labels=["host", "resource"])
        usage = GaugeMetricFamily("thecloud_host_usage", "What the host's agent measured at its last heartbeat.",
                                  labels=["host", "measure"])
        for host in hosts:
            for key in RESOURCES:
                capacity.add_metric([host["name"], key], host.get("capacity", {}).get(key, 0))
                allocated.add_metric([host["name"], key], host.get("allocated", {}).get(key, 0))
            for key, value in sorted(host.get("usage", {}).items()):
                if isinstance(value, (int, float)):
                    usage.add_metric([host["name"], key], value)
        yield capacity
        yield allocated
        yield usage
        yield GaugeMetricFamily("thecloud_reconcile_pending_instances",
                                "Instances whose last start/stop request is not carried out yet.", value=pending)
        last = self.metrics._last_pass
        yield GaugeMetricFamily("thecloud_reconcile_lag_seconds",
                                "Seconds since this node last started a reconcile pass (-1: never, not leader).",
                                value=time.time() - last if last else -1)
        yield GaugeMetricFamily("thecloud_events_retained", "Events kept for watchers.", value=retained)
        yield GaugeMetricFamily("thecloud_event_sequence", "Sequence of the newest event.", value=last_seq)

    def _raft(self, store):
        try:
            status = store.status(timeout=1.0)
        except Exception as err:  # noqa: BLE001 - a scrape must not fail because Raft is restarting
            log.debug("raft status unavailable for metrics: %s", err)
            yield GaugeMetricFamily("thecloud_raft_up", "1 when the Raft process answered.", value=0)
            return
        yield GaugeMetricFamily("thecloud_raft_up", "1 when the Raft process answered.", value=1)
        role = GaugeMetricFamily("thecloud_raft_role", "1 for this node's current Raft role.", labels=["role"])
        for name in ROLES:
            role.add_metric([name], 1 if status.role == name else 0)
        yield role
        yield GaugeMetricFamily("thecloud_raft_term", "Current Raft term.", value=status.term)
        yield GaugeMetricFamily("thecloud_raft_commit_index", "Raft commit index.", value=status.commit_index)
        yield GaugeMetricFamily("thecloud_raft_applied_index", "Last entry the local replica applied.",
                                value=status.applied_index)
        yield GaugeMetricFamily("thecloud_raft_has_quorum", "1 when this node sees a quorum.",
                                value=1 if status.has_quorum else 0)
        yield GaugeMetricFamily("thecloud_raft_members", "Raft members, self included.",
                                value=len(status.members))
        yield GaugeMetricFamily("thecloud_raft_log_entries", "Entries in the Raft journal.", value=status.log_size)


class _IamCollector:
    def __init__(self, iam):
        self.iam = iam

    def collect(self):
        yield GaugeMetricFamily("thecloud_api_open_streams", "Watch streams open on this node.",
                                value=self.iam.streams.open_streams())
        yield CounterMetricFamily("thecloud_audit_dropped_entries", "Audit entries not kept because "
                                  "the writer's queue was full (each loss is also an audit entry).",
                                  value=self.iam.audit.dropped_total)
