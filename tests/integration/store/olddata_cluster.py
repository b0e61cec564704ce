"""A one-scheduler all-in-one cluster on fixed ports, and a peek into its Raft process.

Shared by the old-data fixture's generator (tests/fixtures/make_olddata.py, run by
the code of the commit that writes the fixture) and the upgrade test
(test_store_olddata_upgrade.py, run by today's code), so both agree on names and
ports.

The ports are fixed on purpose: pysyncobj keeps the cluster's Raft addresses in
its snapshot (dynamic membership), so a node that reopens the data directory
under another Raft address takes itself for a second member, never has a quorum
and never replays the journal tail. The Raft address is BASE + 101.
"""
from __future__ import annotations

import socket
import time
from pathlib import Path

from cli.allinone import AllInOne
from scheduler.store import framing
from scheduler.store.client import RaftStore

FIXTURE_BASE_PORT = 47310
SCHEDULER = "sched-1"
MACHINE = "scheduler.state.machine:ClusterState"


class SingleScheduler(AllInOne):
    """The all-in-one cluster with its first scheduler only (plus the agent)."""

    def __init__(self, home: Path, base_port: int = FIXTURE_BASE_PORT, **kwargs):
        super().__init__(home, base_port, **kwargs)
        self.schedulers = self.schedulers[:1]
        self.nodes = {node.name: node for node in [*self.schedulers, self.agent]}

    @property
    def raft_address(self) -> str:
        return self.schedulers[0].raft

    @property
    def raft_dir(self) -> Path:
        """Where the scheduler's store keeps journal, raft.meta and snapshot."""
        return self.data_path(SCHEDULER) / "raft"


class RaftProcessPeek:
    """Talks to a running Raft process over its owner socket, as a RaftStore does,
    without subscribing to its applied commands: status, and forcing a compaction."""

    def __init__(self, raft_dir: Path, timeout: float = 10.0):
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        self._sock.connect(str(Path(raft_dir) / framing.SOCKET_FILE))
        self._reader = framing.FrameReader(self._sock)
        self._next_id = 0

    def status(self) -> dict:
        self._next_id += 1
        self._sock.sendall(framing.encode({"t": "status", "id": self._next_id}))
        while True:
            frame = self._reader.read()
            if frame is None:
                raise ConnectionError("the Raft process closed its socket")
            if frame.get("t") == "status" and frame.get("id") == self._next_id:
                return frame["status"]

    def compact(self, timeout: float = 30.0) -> dict:
        """Snapshot now; returns the status once the journal was compacted behind it."""
        before = self.status()["snapshots_written"]
        self._sock.sendall(framing.encode({"t": "compact"}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if status["snapshots_written"] > before:
                return status
            time.sleep(0.1)
        raise TimeoutError("the Raft process wrote no snapshot")

    def close(self) -> None:
        self._sock.close()


def load_state(raft_dir: Path, raft_address: str, password: str, timeout: float = 60.0) -> tuple[dict, int]:
    """(ClusterState.to_dict(), Raft index) of a data directory, read the way a scheduler
    reads it when it starts: a RaftStore spawns the Raft process, which loads the
    snapshot and replays the journal tail once it is leader of its one-node cluster;
    the mirror gets the state from it. Works on `raft_dir` itself: pass a copy (a
    new term, an election and a barrier entry are written to it)."""
    store = RaftStore(MACHINE, raft_address, [], raft_dir, password)
    store.start()
    try:
        index = store.barrier(timeout=timeout)  # committed only once every older entry is applied
        with store.read_lock:
            return store.read().to_dict(), index
    finally:
        store.stop()
