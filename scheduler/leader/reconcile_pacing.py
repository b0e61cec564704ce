"""Which hosts a reconcile pass visits, so that the loop scales to thousands of hosts.

A pass used to call every host's agent. At 5,000 hosts that is thousands of RPCs
a second doing nothing. The pacer keeps the loop level-triggered but paced:

* a host whose instances a command just touched (create, start/stop, delete,
  move, observation) is visited on the next pass;
* a host touched only by creates gets a *quick* visit: the new instances are
  ensured without first listing what the agent runs (one RPC per instance instead
  of three at fleet scale); an observation that leaves its instance settled
  (running or stopped as desired, at the desired generation) touches nothing —
  it is the answer to the ensure that caused it;
* every other host still gets a full visit at least every
  max(reconcile_interval, hosts / hosts_per_second) seconds, so a lost call
  or a restarted agent is still noticed (100 hosts/s for instances: every 50 s
  at 5,000 hosts — heartbeats report what each host runs in between; each visit
  is an RPC on the leader and one on the host, and 200/s cost a third of a core);
* passes start at most every min(0.5 s, hosts / 10,000 s) — nothing changes
  for small clusters.
"""
from __future__ import annotations

import threading
import time

from scheduler.state import records as r

HOSTS_PER_SECOND = 100.0


class ReconcilePacer:
    """`kinds`: the record kinds whose commands touch a host (the instance reconciler's
    by default; the volume reconciler paces itself on volumes and snapshots)."""

    def __init__(self, store, config, kinds: tuple[str, ...] = ("instance",),
                 hosts_per_second: float = HOSTS_PER_SECOND):
        self.store = store
        self.config = config
        self.kinds = kinds
        self.hosts_per_second = hosts_per_second
        self._prefixes = tuple(f"{kind}." for kind in kinds)
        self._dirty: dict[str, bool] = {}     # host id -> needs a full visit (else quick)
        self._visited: dict[str, float] = {}
        self._last_pass = 0.0
        self._lock = threading.Lock()
        self._unwatch = None

    def start(self) -> None:
        self._unwatch = self.store.watch(self._on_applied)

    def stop(self) -> None:
        if self._unwatch:
            self._unwatch()

    def _on_applied(self, index, commands, results) -> None:
        # On the store's reader thread with the read lock held: only note host ids.
        if commands is None:
            with self._lock:
                self._visited.clear()      # a new snapshot: visit everything again
            return
        state = self.store.read()
        touched: dict[str, bool] = {}
        for command in commands:
            op = command["op"]
            if not op.startswith(self._prefixes):
                continue
            args = command["args"]
            record = getattr(state, op.split(".", 1)[0] + "s", {}).get(args.get("id", ""))
            if op == "instance.observe" and record is not None and settled(record):
                continue
            full = op != "instance.create"
            hosts = [args[key] for key in ("host_id", "from_host_id", "to_host_id") if args.get(key)]
            if record is not None and record.get("host_id"):
                hosts.append(record["host_id"])
            for host_id in hosts:
                touched[host_id] = touched.get(host_id, False) or full
        if touched:
            with self._lock:
                for host_id, full in touched.items():
                    self._dirty[host_id] = self._dirty.get(host_id, False) or full

    def pass_due(self, hosts: int) -> bool:
        """Whether a pass may start now (passes are spaced out on large fleets)."""
        now = time.monotonic()
        gap = min(0.5, hosts / 10000)
        with self._lock:
            if now - self._last_pass < gap:
                return False
            self._last_pass = now
            return True

    def due(self, hosts: list[dict]) -> list[dict]:
        """The hosts to visit in this pass, touched ones first."""
        return [host for host, _ in self.due_visits(hosts)]

    def due_visits(self, hosts: list[dict]) -> list[tuple[dict, bool]]:
        """(host, full) for every host to visit in this pass, touched ones first;
        `full` False: only ensure its new instances (see the module's docstring)."""
        now = time.monotonic()
        period = max(self.config.reconcile_interval, len(hosts) / self.hosts_per_second)
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            chosen = []
            for host in hosts:
                full = dirty.get(host["id"])
                if full is None and now - self._visited.get(host["id"], 0.0) < period:
                    continue
                # A periodic visit that is due is always full, touched or not.
                full = full is None or full or now - self._visited.get(host["id"], 0.0) >= period
                chosen.append((host, full))
            chosen.sort(key=lambda visit: visit[0]["id"] not in dirty)
            for host, full in chosen:
                if full:
                    self._visited[host["id"]] = now
        return chosen

    def revisit(self, host_id: str, full: bool = True) -> None:
        """Visit this host again on the next pass (its visit was skipped or failed)."""
        with self._lock:
            self._dirty[host_id] = self._dirty.get(host_id, False) or full


def settled(instance: dict) -> bool:
    """Nothing for the reconciler to do: the host runs (or stopped) it as desired."""
    if instance["ensured_generation"] < instance["desired_generation"]:
        return False
    wanted = {r.DESIRED_RUNNING: r.RUNNING, r.DESIRED_STOPPED: r.STOPPED}.get(instance["desired_state"])
    return wanted is not None and instance["state"] == wanted
