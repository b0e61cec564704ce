"""Per-host health of the leader's calls to agents, and backoff for failing hosts.

Heartbeats say a host reaches the schedulers; they do not say the leader reaches
its agent, nor that the agent answers (its engine may hang). When calls to one
host keep failing at the transport level (deadline exceeded, unavailable), the
reconciler backs off that host alone — so its workers are not tied up by calls
that hang until their deadline — and once the failures in a row have lasted
UNHEALTHY_AFTER_S marks it unhealthy through Raft, with the reason, which keeps
new placements away. The first visit that works again clears it. Everything else
in the fleet moves on. An agent restart is not a fault: it takes a second or two
(shorter than UNHEALTHY_AFTER_S), and its join ends the host's backoff at once.
"""
from __future__ import annotations

import threading
import time

import grpc

UNHEALTHY_AFTER = 2                 # failures in a row ...
UNHEALTHY_AFTER_S = 5.0             # ... over at least this long
FIRST_DELAY = 0.5
MAX_DELAY = 30.0
TRANSPORT_FAILURES = (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)


def transport_failure(err: grpc.RpcError) -> bool:
    """Whether the call failed to reach a working agent (not an answer it gave)."""
    return err.code() in TRANSPORT_FAILURES


def reason_of(err: grpc.RpcError) -> str:
    details = (err.details() or "").strip()
    return f"calls to its agent fail: {err.code().name}" + (f" ({details[:120]})" if details else "")


class HostHealth:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, tuple[int, float, float]] = {}   # host id -> (in a row, not before, since)
        self._unwatch = None

    def watch(self, store) -> None:
        """End a host's backoff when its agent joins again (it restarted or came back)."""
        def on_applied(index, commands, results):
            if commands is None:            # a new snapshot: start afresh
                with self._lock:
                    self._failures.clear()
                return
            joined = [c["args"].get("name", "") for c in commands if c["op"] == "host.join"]
            if joined:
                names = store.read().host_names
                for name in joined:
                    self.succeeded(names.get(name, ""))
        self._unwatch = store.watch(on_applied)

    def stop(self) -> None:
        if self._unwatch:
            self._unwatch()

    def due(self, host_id: str) -> bool:
        """Whether the host may be visited now (not backing off)."""
        with self._lock:
            _, not_before, _ = self._failures.get(host_id, (0, 0.0, 0.0))
        return self._clock() >= not_before

    def failed(self, host_id: str) -> bool:
        """Count a transport failure; True when the host is now to be marked unhealthy."""
        now = self._clock()
        with self._lock:
            count, _, since = self._failures.get(host_id, (0, 0.0, now))
            count += 1
            delay = min(FIRST_DELAY * 2 ** (count - 1), MAX_DELAY)
            self._failures[host_id] = (count, now + delay, since)
        return count >= UNHEALTHY_AFTER and now - since >= UNHEALTHY_AFTER_S

    def succeeded(self, host_id: str) -> None:
        with self._lock:
            self._failures.pop(host_id, None)

    def forget(self, keep: set[str]) -> None:
        """Drop hosts that no longer exist."""
        with self._lock:
            for host_id in set(self._failures) - keep:
                del self._failures[host_id]
