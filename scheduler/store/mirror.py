"""The client-side replica: a `ReplicatedState` fed by the Raft process's stream.

All mutation happens on the connection's reader thread, under ``lock`` (an RLock).
Watch callbacks run on that thread, with ``lock`` held, right after the entry they
describe was applied, in index order — so inside a callback the mirror shows exactly
the state after that entry.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
from typing import Callable

from scheduler.store.replicated import ReplicatedState

log = logging.getLogger(__name__)


class Mirror:
    def __init__(self, machine_path: str, dedup_window_ms: int):
        self.machine_path = machine_path
        self.dedup_window_ms = dedup_window_ms
        self.lock = threading.RLock()
        self.state = ReplicatedState(machine_path, dedup_window_ms=dedup_window_ms)
        self.index = 0
        self.loaded = threading.Event()
        self._watchers: list[Callable] = []
        # While a snapshot older than what we already show is catching up:
        # [state, index, [(index, commands, outcome) newer than self.index]]
        self._shadow: list | None = None
        self._waiters: list = []  # heap of (index, seq, fn)
        self._seq = itertools.count()

    # -- feeding (reader thread) -----------------------------------------------------

    def load_snapshot(self, index: int, state_dict: dict) -> None:
        fresh = ReplicatedState.from_dict(self.machine_path, state_dict, self.dedup_window_ms)
        with self.lock:
            if not self.loaded.is_set() or index >= self.index:
                jumped = self.loaded.is_set() and index > self.index
                self.state, self.index, self._shadow = fresh, index, None
                if jumped:
                    self._notify(index, None, None)
            else:
                # A restarted Raft process may start behind what we already show: never
                # go back in time; build the new state aside until it catches up.
                self._shadow = [fresh, index, []]
        self.loaded.set()
        self._run_waiters()

    def apply(self, index: int, commands: list, results: list) -> None:
        with self.lock:
            if self._shadow is not None:
                self._apply_shadow(index, commands)
            elif index > self.index:
                outcome = self.state.apply_batch(commands, index)
                self.index = index
                self._notify_outcome(index, commands, outcome)
        self._run_waiters()

    def _apply_shadow(self, index: int, commands: list) -> None:
        shadow = self._shadow
        state, shadow_index, pending = shadow
        if index <= shadow_index:
            return
        outcome = state.apply_batch(commands, index)
        shadow[1] = index
        if index > self.index:
            pending.append((index, commands, outcome))
        if index >= self.index:
            self.state, self.index, self._shadow = state, index, None
            for entry in pending:
                self._notify_outcome(*entry)

    # -- watchers and waiters --------------------------------------------------------

    def add_watcher(self, callback: Callable) -> Callable[[], None]:
        with self.lock:
            self._watchers.append(callback)

        def unsubscribe() -> None:
            with self.lock:
                if callback in self._watchers:
                    self._watchers.remove(callback)

        return unsubscribe

    def call_when_applied(self, index: int, fn: Callable[[], None]) -> None:
        with self.lock:
            if self._shadow is None and self.index >= index:
                ready = True
            else:
                ready = False
                heapq.heappush(self._waiters, (index, next(self._seq), fn))
        if ready:
            fn()

    def _run_waiters(self) -> None:
        due = []
        with self.lock:
            while self._waiters and self._shadow is None and self._waiters[0][0] <= self.index:
                due.append(heapq.heappop(self._waiters)[2])
        for fn in due:
            fn()

    def _notify_outcome(self, index, commands, outcome) -> None:
        if not self._watchers:
            return
        fresh_commands = [c for c, f in zip(commands, outcome.fresh) if f]
        if fresh_commands:
            fresh_results = [r for r, f in zip(outcome.results, outcome.fresh) if f]
            self._notify(index, fresh_commands, fresh_results)

    def _notify(self, index, commands, results) -> None:
        for callback in list(self._watchers):
            try:
                callback(index, commands, results)
            except Exception:  # noqa: BLE001 - a broken watcher must not stop the mirror
                log.exception("store watch callback failed")
