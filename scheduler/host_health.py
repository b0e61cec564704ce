"""Per-host health of the leader's calls to agents, and backoff for failing hosts.

Heartbeats say a host reaches the schedulers; they do not say the leader reaches
its agent, nor that the agent answers (its engine may hang). When calls to one
host keep failing at the transport level (deadline exceeded, unavailable), the
reconciler backs off that host alone — so its workers are not tied up by calls
that hang until their deadline — and after UNHEALTHY_AFTER failures in a row marks
it unhealthy through Raft, with the reason, which keeps new placements away. The
first visit that works again clears it. Everything else in the fleet moves on.
"""
from __future__ import annotations

import threading
import time

import grpc

UNHEALTHY_AFTER = 2
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
        self._failures: dict[str, tuple[int, float]] = {}   # host id -> (in a row, not before)

    def due(self, host_id: str) -> bool:
        """Whether the host may be visited now (not backing off)."""
        with self._lock:
            _, not_before = self._failures.get(host_id, (0, 0.0))
        return self._clock() >= not_before

    def failed(self, host_id: str) -> bool:
        """Count a transport failure; True when the host is now to be marked unhealthy."""
        with self._lock:
            count, _ = self._failures.get(host_id, (0, 0.0))
            count += 1
            delay = min(FIRST_DELAY * 2 ** (count - 1), MAX_DELAY)
            self._failures[host_id] = (count, self._clock() + delay)
        return count >= UNHEALTHY_AFTER

    def succeeded(self, host_id: str) -> None:
        with self._lock:
            self._failures.pop(host_id, None)

    def forget(self, keep: set[str]) -> None:
        """Drop hosts that no longer exist."""
        with self._lock:
            for host_id in set(self._failures) - keep:
                del self._failures[host_id]
