"""Which hosts a reconcile pass visits, so that the loop scales to thousands of hosts.

A pass used to call every host's agent. At 5,000 hosts that is thousands of RPCs
a second doing nothing. The pacer keeps the loop level-triggered but paced:

* a host whose instances a command just touched (create, start/stop, delete,
  move, observation) is visited on the next pass;
* every other host still gets a full visit at least every
  max(reconcile_interval, hosts / hosts_per_pass_second) seconds, so a lost call
  or a restarted agent is still noticed;
* passes start at most every min(0.5 s, hosts / 10,000 s) — nothing changes
  for small clusters.
"""
from __future__ import annotations

import threading
import time

HOSTS_PER_SECOND = 200.0


class ReconcilePacer:
    def __init__(self, store, config):
        self.store = store
        self.config = config
        self._dirty: set[str] = set()
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
        instances = self.store.read().instances
        touched = set()
        for command in commands:
            if not command["op"].startswith("instance."):
                continue
            args = command["args"]
            for key in ("host_id", "from_host_id", "to_host_id"):
                if args.get(key):
                    touched.add(args[key])
            instance = instances.get(args.get("id", ""))
            if instance is not None:
                touched.add(instance["host_id"])
        if touched:
            with self._lock:
                self._dirty |= touched

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
        now = time.monotonic()
        period = max(self.config.reconcile_interval, len(hosts) / HOSTS_PER_SECOND)
        with self._lock:
            dirty, self._dirty = self._dirty, set()
            chosen = [h for h in hosts if h["id"] in dirty]
            chosen += [h for h in hosts if h["id"] not in dirty and now - self._visited.get(h["id"], 0.0) >= period]
            for host in chosen:
                self._visited[host["id"]] = now
        return chosen

    def revisit(self, host_id: str) -> None:
        """Visit this host again on the next pass (its visit was skipped or failed)."""
        with self._lock:
            self._dirty.add(host_id)
