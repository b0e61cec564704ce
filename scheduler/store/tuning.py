"""Every knob of the Raft store, with its default and one line of help.

`RaftTuning.help()` lists them for generated sample configs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


def _knob(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class RaftTuning:
    election_min_s: float = _knob(0.3, "Shortest randomized election timeout (pysyncobj raftMinTimeout).")
    election_max_s: float = _knob(0.6, "Longest randomized election timeout (pysyncobj raftMaxTimeout).")
    append_period_s: float = _knob(0.04, "Leader heartbeat / append_entries period; must be < election_min_s / 3.")
    leader_fallback_s: float = _knob(1.5, "A leader without answers from a majority for this long steps down.")
    connection_timeout_s: float = _knob(0.8, "A peer connection silent for this long is dropped (>= election_max_s).")
    connection_retry_s: float = _knob(0.1, "Delay between reconnect attempts to an unreachable peer.")
    tick_period_s: float = _knob(0.02, "Longest the Raft tick thread sleeps in poll() when nothing happens.")
    socket_buffer_bytes: int = _knob(1 << 20, "SO_SNDBUF/SO_RCVBUF of peer sockets and pysyncobj's recv chunk.")
    append_entries_max_bytes: int = _knob(4 << 20, "Max bytes per append_entries message (keep above batch_max_bytes).")
    log_compaction_min_entries: int = _knob(10000, "Compact the log (fork + snapshot) once it holds this many entries.")
    log_compaction_min_time_s: float = _knob(600.0, "...or once this long has passed since the last compaction.")
    commands_queue_size: int = _knob(100000, "pysyncobj's queue of proposals waiting for the tick thread.")
    batch_max_commands: int = _knob(512, "Client: most commands the sender packs into one Raft entry.")
    batch_max_bytes: int = _knob(256 << 10, "Client: most JSON bytes the sender packs into one Raft entry.")
    max_inflight_batches: int = _knob(8, "Client: batches proposed and not yet answered before the sender waits.")
    attempt_timeout_s: float = _knob(1.5, "Client: an unanswered batch is retried (same rids) after this long.")
    retry_backoff_s: float = _knob(0.02, "Client: pause before retrying a batch that failed (no leader, leader change).")
    dedup_window_ms: int = _knob(3_600_000, "Dedup entries older than the newest applied ts minus this are pruned.")
    startup_timeout_s: float = _knob(15.0, "Client: how long start() waits for the Raft process's first snapshot.")
    respawn_delay_s: float = _knob(0.2, "Client: pause before respawning a Raft process that died.")
    owner_queue_max: int = _knob(200000, "Raft process: queued messages for a slow owner before it is disconnected.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "RaftTuning":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    @classmethod
    def help(cls) -> dict[str, tuple[object, str]]:
        return {f.name: (f.default, f.metadata["help"]) for f in fields(cls)}
