"""Open response streams (watches), counted per principal and in total, per node.

Each stream of the synchronous gRPC server holds one worker thread for as long
as it is open, so the server's pool is sized to the total cap plus the unary
workers, and a principal can hold at most its share. Beyond either cap a new
stream is refused with RESOURCE_EXHAUSTED; the slot comes back when the stream
ends, however it ends.
"""
from __future__ import annotations

import threading
from typing import Callable

from common.errors import ResourceExhausted


class StreamLimiter:
    def __init__(self, per_principal: int = 16, total: int = 256):
        self.per_principal = max(1, int(per_principal))
        self.total = max(1, int(total))
        self._open: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()

    def acquire(self, principal: str) -> Callable[[], None]:
        """Take a slot for `principal` or raise ResourceExhausted; returns the release
        (safe to call more than once)."""
        with self._lock:
            mine = self._open.get(principal, 0)
            if mine >= self.per_principal:
                raise ResourceExhausted(
                    f"{principal} already has {mine} open streams (at most {self.per_principal} "
                    "per caller on this scheduler); close one first")
            if self._count >= self.total:
                raise ResourceExhausted(
                    f"this scheduler serves {self._count} streams, its limit; try another "
                    "scheduler or later")
            self._open[principal] = mine + 1
            self._count += 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                left = self._open.get(principal, 1) - 1
                if left > 0:
                    self._open[principal] = left
                else:
                    self._open.pop(principal, None)
                self._count -= 1
        return release

    def open_streams(self, principal: str | None = None) -> int:
        with self._lock:
            return self._count if principal is None else self._open.get(principal, 0)
