"""pysyncobj made trustworthy: fsync before acknowledging, durable snapshots.

- `RaftNode._onTick` syncs the journal (one fdatasync for everything appended since
  the last tick: group commit) *before* pysyncobj computes the commit index, so a
  leader never counts its own entry until it is durable, then releases the follower
  acknowledgements held by `DurableTransport` during the previous poll.
- `DurableTransport` holds ``next_node_idx`` messages (a follower's "I have entries up
  to N") while the journal has unsynced data.
- `durable_snapshot_replace` replaces pysyncobj's plain ``os.rename`` of the dump with
  fsync(tmp) + rename + fsync(dir); it runs in the forked snapshot child.
- `StoreConsumer` holds the replicated state as a SyncObjConsumer, so the state exists
  before the SyncObj (and its tick thread) does, and snapshots carry it explicitly.
"""

from __future__ import annotations

import json
import os

from pysyncobj import SyncObj, SyncObjConsumer, replicated
from pysyncobj.transport import TCPTransport

from scheduler.store.journal import DurableJournal, durable_replace
from scheduler.store.replicated import MachinePickle, ReplicatedState

ROLE_NAMES = {0: "follower", 1: "candidate", 2: "leader"}
FAIL_NAMES = {
    0: "SUCCESS", 1: "QUEUE_FULL", 2: "MISSING_LEADER", 3: "DISCARDED", 4: "NOT_LEADER",
    5: "LEADER_CHANGED", 6: "REQUEST_DENIED", 7: "UNKNOWN_OUTCOME",
}


def durable_snapshot_replace(tmp_path: str, path: str) -> bool:
    """Used by pysyncobj's serializer (in the forked child, or the tick thread when a
    snapshot arrives from the leader). Leaves ``<path>.writer`` naming the writer pid."""
    durable_replace(tmp_path, path)
    try:
        with open(path + ".writer", "w") as f:
            json.dump({"pid": os.getpid(), "ppid": os.getppid()}, f)
    except OSError:
        pass
    return True


class DurableTransport(TCPTransport):
    """TCP transport that holds a follower's acknowledgements until they are durable."""

    def __init__(self, syncObj, selfNode, otherNodes, journal: DurableJournal):
        self._journal = journal
        self._held: list = []
        super().__init__(syncObj, selfNode, otherNodes)

    def send(self, node, message):
        if isinstance(message, dict) and message.get("type") == "next_node_idx" \
                and (self._held or self._journal.dirty):
            self._held.append((node, message))
            return True
        return super().send(node, message)

    def _onMessageReceived(self, node, message):
        # pysyncobj's leader sets nextIndex to the acknowledged position on every
        # successful ack, moving it back behind entries it already sent; the follower
        # then gets them again and truncates/re-appends them. Keep the optimistic
        # nextIndex on success; failures (reset=True) still move it back.
        if isinstance(message, dict) and message.get("type") == "next_node_idx" \
                and message.get("success") and not message.get("reset"):
            next_index = getattr(self._syncObj, "_SyncObj__raftNextIndex", None)
            before = next_index.get(node) if next_index is not None else None
            super()._onMessageReceived(node, message)
            if before is not None and next_index.get(node, before) < before:
                next_index[node] = before
            return
        super()._onMessageReceived(node, message)

    def release(self) -> None:
        held, self._held = self._held, []
        for node, message in held:
            super().send(node, message)


class StoreConsumer(SyncObjConsumer):
    """The replicated object: a `ReplicatedState` applied one batch per log entry.

    ``on_applied(index, commands, results)`` and ``on_reset(index)`` run in the tick
    thread; the first after every batch, the second when pysyncobj replaced the state
    from a snapshot (at startup or installed from the leader).
    """

    def __init__(self, state: ReplicatedState, on_applied, on_reset):
        super().__init__()
        self.state = state
        self._on_applied = on_applied
        self._on_reset = on_reset
        self._reset_pending = False

    @replicated
    def apply_batch(self, commands):
        applied_so_far = self._syncObj.raftLastApplied
        self.flush_reset(applied_so_far)
        index = applied_so_far + 1
        outcome = self.state.apply_batch(commands, index)
        self._on_applied(index, commands, outcome.results)
        return {"index": index, "results": outcome.results}

    def flush_reset(self, index: int) -> None:
        if self._reset_pending:
            self._reset_pending = False
            self._on_reset(index)

    def _serialize(self):
        # Runs in the tick thread right before fork: references only; the child pickles
        # them (MachinePickle calls to_dict() there).
        state = self.state
        return {
            "v": 1,
            "machine": MachinePickle(state.machine_path, state.machine),
            "dedup": state.dedup,
            "newest_ts": state.newest_ts,
        }

    def _deserialize(self, data):
        old = self.state
        self.state = ReplicatedState(old.machine_path, machine=data["machine"], dedup=data["dedup"],
                                     newest_ts=data["newest_ts"], dedup_window_ms=old.dedup_window_ms)
        self._reset_pending = True


class RaftNode(SyncObj):
    """SyncObj with group-committed durability. ``before_tick()`` runs first in every
    tick (the owner channel's work queue)."""

    def __init__(self, self_address, peers, conf, consumer: StoreConsumer,
                 journal: DurableJournal, before_tick):
        # Assigned before SyncObj.__init__ on purpose: pysyncobj leaves attributes that
        # exist at that point out of snapshots, and the tick thread starts inside it.
        self._journal = journal
        self._before_tick = before_tick
        self._transports: list[DurableTransport] = []

        def make_transport(syncobj, self_node, other_nodes):
            transport = DurableTransport(syncobj, self_node, other_nodes, journal)
            self._transports.append(transport)
            return transport

        super().__init__(self_address, [p for p in peers if p != self_address], conf,
                         consumers=[consumer], transportClass=make_transport)

    def _onTick(self, timeToWait=0.0):
        self._journal.sync()
        for transport in self._transports:
            transport.release()
        self._before_tick()
        super()._onTick(timeToWait)
