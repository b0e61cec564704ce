"""Heartbeats at fleet scale: what a heartbeat writes through Raft, and how often
agents are asked to beat.

Writing every heartbeat through Raft costs one replicated command per host per
interval — 5,000 hosts at 1 s would take most of what the store can commit. So:

* a heartbeat that changes nothing the cluster keeps (same images and capacity,
  no instance changed state, host already up) only notes the host as alive here;
  every `liveness_flush_interval` one `host.alive` command records every host
  noted since the last one (a single Raft entry for the whole fleet);
* usage figures are written at most every `usage_write_interval` per host, in
  the same batch;
* the interval told to agents stretches with the fleet
  (max(heartbeat_interval, hosts / heartbeats_per_second)), and the down-after
  TTL stretches with it, so a larger fleet never looks silent.

Any scheduler may receive a heartbeat; each keeps its own note and flushes it, so
liveness still reaches every replica through Raft.
"""
from __future__ import annotations

import logging
import threading
import time

from common.errors import CloudError, raise_for_result
from scheduler.state import records as r

log = logging.getLogger(__name__)


def heartbeat_interval(config, hosts: int) -> float:
    return max(config.heartbeat_interval, hosts / max(config.heartbeats_per_second, 1.0))


def down_after_ms(config, hosts: int) -> int:
    """A host silent this long is down: never less than three stretched intervals."""
    interval = heartbeat_interval(config, hosts)
    return int(max(config.host_down_after, 3 * interval + config.liveness_flush_interval) * 1000)


class HeartbeatWriter:
    def __init__(self, store, proposer, config):
        self.store = store
        self.proposer = proposer
        self.config = config
        self._alive: set[str] = set()
        self._usage_written: dict[str, float] = {}
        self._usage: dict[str, dict] = {}          # host id -> its latest heartbeat, to write
        self._lock = threading.Lock()
        self._flusher: threading.Thread | None = None

    def interval_ms(self) -> int:
        return int(heartbeat_interval(self.config, len(self.store.read().hosts)) * 1000)

    def write(self, host: dict | None, commands: list[tuple[str, dict]]) -> None:
        """`commands` = [("host.heartbeat", beat), ("instance.observe", …)…]: propose them
        now when they change what the cluster knows; otherwise only note the host as
        alive (and its usage, when due) for the next flush, and answer at once — so
        heartbeats never hold the server's threads while Raft is slow."""
        beat = commands[0][1]
        now = time.monotonic()
        if len(commands) == 1 and host is not None and not self._changes(host, beat):
            with self._lock:
                self._alive.add(beat["id"])
                written = self._usage_written.get(beat["id"])
                if written is None or now - written >= self.config.usage_write_interval:
                    self._usage[beat["id"]] = beat
                    self._usage_written[beat["id"]] = now
                self._start_flusher()
            return
        results = self.proposer.propose_many(commands)
        raise_for_result(results[0])
        with self._lock:
            self._usage_written[beat["id"]] = now

    @staticmethod
    def _changes(host: dict, beat: dict) -> bool:
        if host.get("state") != r.HOST_UP:
            return True          # a host coming back is marked up at once
        if sorted(beat.get("images", [])) != host.get("images", []):
            return True
        return bool(beat.get("capacity")) and beat["capacity"] != host.get("capacity")

    def _start_flusher(self) -> None:
        if self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="liveness", daemon=True)
            self._flusher.start()

    def _flush_loop(self) -> None:
        while True:
            time.sleep(self.config.liveness_flush_interval)
            with self._lock:
                ids, self._alive = sorted(self._alive), set()
                beats, self._usage = self._usage, {}
            if not ids and not beats:
                continue
            # One batch: the liveness of every host heard from, and the usage that is due.
            commands = [("host.alive", {"ids": ids})] + [("host.heartbeat", b) for b in beats.values()]
            try:
                self.proposer.propose_many(commands)
            except CloudError as err:
                log.info("could not record %d live hosts (next flush retries): %s", len(ids), err)
                with self._lock:
                    self._alive.update(ids)
            except Exception:  # noqa: BLE001 - the flusher must outlive anything
                log.exception("liveness flush failed")
