"""Failed authentications per source address: a token bucket per address, in memory.

Each scheduler node keeps its own buckets (an attacker spreading guesses over the
nodes gets at most `nodes` times the rate, still far too slow to guess 256 bits;
the point is to keep log and audit floods and CPU burn in check). While a source
is over its budget no token from it is even checked.
"""
from __future__ import annotations

import threading
import time


class FailureLimiter:
    def __init__(self, burst: int = 20, per_minute: float = 10.0, clock=time.monotonic,
                 max_sources: int = 10_000):
        self.burst = max(1, int(burst))
        self.rate = max(0.0, float(per_minute)) / 60.0
        self.clock = clock
        self.max_sources = max_sources
        self._buckets: dict[str, tuple[float, float]] = {}   # source -> (tokens, at)
        self._lock = threading.Lock()

    def _level(self, source: str, now: float) -> float:
        tokens, at = self._buckets.get(source, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def blocked(self, source: str) -> bool:
        """Whether `source` has used up its failures for now."""
        with self._lock:
            return self._level(source, self.clock()) < 1.0

    def failed(self, source: str) -> None:
        with self._lock:
            now = self.clock()
            level = self._level(source, now)
            if len(self._buckets) >= self.max_sources and source not in self._buckets:
                # Forget sources that have fully recovered; memory stays bounded.
                self._buckets = {s: v for s, v in self._buckets.items()
                                 if self._level(s, now) < self.burst}
            self._buckets[source] = (max(0.0, level - 1.0), now)


def source_of(peer: str) -> str:
    """The address part of a gRPC peer string ("ipv4:127.0.0.1:5555" -> "127.0.0.1")."""
    kind, _, rest = (peer or "").partition(":")
    if kind == "ipv6":
        return rest.rsplit(":", 1)[0].strip("[]")
    if kind == "ipv4":
        return rest.rsplit(":", 1)[0]
    return peer or "unknown"
