"""The loop every control loop on the leader shares: wake on each applied change
(or every `reconcile_interval`), let a burst settle, and call `reconcile(term)`
only while this node leads. Subclasses implement `reconcile`; `self._pool` runs
their per-host work."""
from __future__ import annotations

import logging
import threading
from concurrent import futures

log = logging.getLogger(__name__)

# A pass per commit would rescan the state (under the mirror's read lock)
# hundreds of times a second; a short settle turns a burst into one pass.
PASS_SETTLE_S = 0.05


class LeaderLoop:
    def __init__(self, store, config, name: str, workers: int):
        self.store = store
        self.config = config
        self._name = name
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._unwatch = None

    def reconcile(self, term: int) -> None:
        raise NotImplementedError

    def start(self) -> None:
        self._unwatch = self.store.watch(lambda index, commands, results: self._wake.set())
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._unwatch:
            self._unwatch()
        if self._thread.ident is not None:     # stopping a loop that never started is no error
            self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.config.reconcile_interval)
            self._stop.wait(PASS_SETTLE_S)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                status = self.store.status()
                if status.role == "leader":
                    self.reconcile(status.term)
            except Exception:  # noqa: BLE001 - the loop must survive anything; the next pass retries
                log.exception("%s pass failed", self._name)
