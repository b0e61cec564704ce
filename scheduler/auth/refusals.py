"""Refusals for the audit log, rate limited per caller and source, repeats folded.

A flood of refused calls must not flood the audit log (or Raft): the first refusal
of a kind — (principal, source address, method, outcome) — is recorded as it
happens; repeats within `window_s` are only counted, and when the window closes
one entry says how many there were ("N more like this", in its `resource`). Nothing
is lost: every refusal is either an entry or counted in one.
"""
from __future__ import annotations

import threading
import time

MORE_LIKE_THIS = "{count} more like this"


class RefusalAggregator:
    def __init__(self, sink, window_s: float = 60.0, max_kinds: int = 10_000,
                 clock=time.monotonic, wall=time.time):
        """`sink(entry)` takes an audit entry (the AuditWriter's record)."""
        self.sink = sink
        self.window_s = float(window_s)
        self.max_kinds = max_kinds
        self.clock = clock
        self.wall = wall
        self._open: dict[tuple, dict] = {}   # kind -> {"until", "count", "entry"}
        self._lock = threading.Lock()

    @staticmethod
    def kind(entry: dict) -> tuple:
        return (entry.get("principal"), entry.get("address"), entry.get("method"), entry.get("outcome"))

    def record(self, entry: dict) -> None:
        now = self.clock()
        out = []
        with self._lock:
            kind = self.kind(entry)
            window = self._open.get(kind)
            if window is not None and window["until"] <= now:
                out.extend(self._fold(self._open.pop(kind)))
                window = None
            if window is not None:
                window["count"] += 1
            else:
                if len(self._open) >= self.max_kinds:
                    out.extend(self._close(now, everything=True))   # memory stays bounded
                self._open[kind] = {"until": now + self.window_s, "count": 0, "entry": dict(entry)}
                out.append(entry)
        for item in out:
            self.sink(item)

    def tick(self) -> None:
        """Close the windows that are over (the audit writer calls this every round)."""
        now = self.clock()
        with self._lock:
            out = self._close(now)
        for item in out:
            self.sink(item)

    def close_all(self) -> None:
        """Record every open count now (shutdown, tests)."""
        with self._lock:
            out = self._close(self.clock(), everything=True)
        for item in out:
            self.sink(item)

    def _close(self, now: float, everything: bool = False) -> list[dict]:
        out = []
        for kind in [k for k, w in self._open.items() if everything or w["until"] <= now]:
            out.extend(self._fold(self._open.pop(kind)))
        return out

    def _fold(self, window: dict) -> list[dict]:
        if not window["count"]:
            return []
        return [{**window["entry"], "ts": int(self.wall() * 1000),
                 "resource": MORE_LIKE_THIS.format(count=window["count"])}]
