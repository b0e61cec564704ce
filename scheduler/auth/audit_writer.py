"""Batches audit entries into one `audit.append` Raft command at a time.

The interceptor hands an entry over after each mutating call and never waits for
Raft; a background thread proposes what has gathered (at most `max_batch` per
command). When no leader answers, entries wait for the next round; past
`max_pending` new entries are not kept but counted, and the next batch carries an
entry "dropped N entries" (action `audit.dropped`), so no loss goes unrecorded;
`dropped_total` counts them for the metrics too.
"""
from __future__ import annotations

import collections
import logging
import threading
import time

from common.errors import CloudError

log = logging.getLogger(__name__)


class AuditWriter:
    def __init__(self, proposer, keep: int = 100_000, max_age_s: float = 0.0,
                 interval: float = 0.2, max_batch: int = 500, max_pending: int = 20_000):
        self.proposer = proposer
        self.keep = keep
        self.max_age_ms = int(max_age_s * 1000)
        self.interval = interval
        self.max_batch = max_batch
        self.max_pending = max_pending
        self._pending: collections.deque = collections.deque()
        self._dropped = 0
        self.dropped_total = 0
        self.tick = None      # called every round (the refusal aggregator closes its windows)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._idle = threading.Condition(self._lock)
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def record(self, entry: dict) -> None:
        with self._lock:
            if len(self._pending) >= self.max_pending:
                self._dropped += 1
                self.dropped_total += 1
                return
            self._pending.append(entry)
        self._wake.set()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything recorded so far was committed (tests, shutdown)."""
        self._wake.set()
        with self._idle:
            return self._idle.wait_for(lambda: not self._pending, timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait(self.interval)
            self._wake.clear()
            if self.tick is not None:
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - the writer must keep writing
                    log.exception("audit log: the round's tick failed")
            self._drain()
            if self._stop.is_set():
                return

    def _drain(self) -> None:
        while True:
            with self._lock:
                dropped, self._dropped = self._dropped, 0
                if dropped:
                    # Ahead of everything else, so it is written with the next batch.
                    self._pending.appendleft(dropped_entry(dropped))
                batch = [self._pending[i] for i in range(min(self.max_batch, len(self._pending)))]
            if dropped:
                log.warning("audit log: dropped %d entries while the queue was full", dropped)
            if not batch:
                with self._idle:
                    self._idle.notify_all()
                return
            try:
                self.proposer.propose("audit.append", {"entries": batch, "keep": self.keep,
                                                       "max_age_ms": self.max_age_ms})
            except CloudError as err:
                log.info("audit log: %d entries wait for the next round: %s", len(batch), err)
                if self._stop.is_set():
                    return
                self._stop.wait(1.0)
                return
            with self._lock:
                for _ in range(min(len(batch), len(self._pending))):
                    self._pending.popleft()


def dropped_entry(count: int) -> dict:
    return {"ts": int(time.time() * 1000), "principal": "system", "via": "", "project": "",
            "action": "audit.dropped", "method": "", "resource": f"dropped {count} entries",
            "outcome": "DROPPED", "address": ""}
