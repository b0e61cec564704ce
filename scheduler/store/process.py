"""The Raft process: ``python -m scheduler.store.process --config FILE``.

One per scheduler node, spawned by `RaftStore`. It holds pysyncobj's SyncObj (which
forks to write snapshots, so it must not live in the gRPC process), never imports
grpc, and serves its owner over a Unix socket (mode 0600) in the data dir.

Owner protocol (length-prefixed JSON, see framing.py); ``id`` echoes the request:
  -> {"t":"hello"}                      <- {"t":"snapshot","i":index,"s":state}, then
                                           {"t":"applied","i":index,"c":commands}
                                           for every batch applied, in order (a new
                                           "snapshot" when the state was replaced)
  -> {"t":"propose","id":n,"c":[...]}   <- {"t":"result","id":n,"ok":true,"i":index,"r":[...]}
                                           or {"t":"result","id":n,"ok":false,"err":REASON}
  -> {"t":"status","id":n}              <- {"t":"status","id":n,"status":{...}}
  -> {"t":"member","id":n,"action":"add"|"remove","address":a}
                                        <- {"t":"member","id":n,"ok":bool,"err":REASON}
  -> {"t":"compact"}                      (force a log compaction)

The process exits when its owner dies: PR_SET_PDEATHSIG, EOF on stdin (the owner
holds the write end of that pipe) and a getppid() watch.
"""

from __future__ import annotations

import argparse
import collections
import ctypes
import fcntl
import functools
import gzip
import json
import logging
import os
import pickle
import signal
import socket
import sys
import threading
import time

import pysyncobj.serializer
import pysyncobj.syncobj
from pysyncobj import SyncObjConf
from pysyncobj.poller import POLL_EVENT_TYPE

from scheduler.store import framing
from scheduler.store.journal import FSYNCS, DurableJournal
from scheduler.store.raft_node import (FAIL_NAMES, ROLE_NAMES, RaftNode, StoreConsumer,
                                       durable_snapshot_replace)
from scheduler.store.replicated import ReplicatedState
from scheduler.store.tuning import RaftTuning

log = logging.getLogger("scheduler.store.process")

PR_SET_PDEATHSIG = 1
SNAPSHOT_FILE = "snapshot"
LOCK_FILE = "raft.lock"


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL us when the thread that spawned us exits."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except OSError:
        pass


class _FastGzip:
    """Stands in for the ``gzip`` module inside pysyncobj.serializer only."""

    @staticmethod
    def GzipFile(*args, **kwargs):
        kwargs.setdefault("compresslevel", 1)
        return gzip.GzipFile(*args, **kwargs)


def _snapshot_child_setup() -> None:
    """In the forked snapshot writer: die with the Raft process, and yield the CPU to
    it (on a small machine a busy child otherwise delays heartbeats into elections)."""
    die_with_parent()
    try:
        os.nice(10)
    except OSError:
        pass


def snapshot_base(dump_path: str) -> tuple[int, int] | None:
    """(idx, term) of the first journal entry a pysyncobj dump expects, if any."""
    if not os.path.exists(dump_path):
        return None
    try:
        with open(dump_path, "rb") as f, gzip.GzipFile(fileobj=f) as g:
            data = pickle.load(g)
        return data[2][1], data[2][2]
    except Exception:  # noqa: BLE001 - a bad dump is pysyncobj's to report
        log.exception("cannot read snapshot %s", dump_path)
        return None


class Owner:
    """One connected client: a reader thread and a writer thread with its own queue,
    so the tick thread only ever appends to a deque."""

    def __init__(self, hub: "OwnerHub", sock: socket.socket):
        self.hub = hub
        self.sock = sock
        self.subscribed = False
        self._out: collections.deque[bytes] = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        threading.Thread(target=self._write_loop, name="owner-writer", daemon=True).start()
        threading.Thread(target=self._read_loop, name="owner-reader", daemon=True).start()

    def push(self, frame: bytes) -> None:
        with self._cv:
            if self._closed:
                return
            if len(self._out) >= self.hub.tuning.owner_queue_max:
                log.warning("owner too slow, disconnecting it")
                self._close_locked()
                return
            self._out.append(frame)
            self._cv.notify()

    def close(self) -> None:
        with self._cv:
            self._close_locked()

    def _close_locked(self) -> None:
        if not self._closed:
            self._closed = True
            self._cv.notify_all()
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _write_loop(self) -> None:
        try:
            while True:
                with self._cv:
                    while not self._out and not self._closed:
                        self._cv.wait()
                    if self._closed:
                        return
                    frames = list(self._out)
                    self._out.clear()
                self.sock.sendall(b"".join(frames))
        except OSError:
            self.close()
        finally:
            self.hub.forget(self)

    def _read_loop(self) -> None:
        reader = framing.FrameReader(self.sock)
        try:
            while True:
                message = reader.read()
                if message is None:
                    break
                self.hub.handle(self, message)
        except (OSError, ValueError):
            pass
        finally:
            self.close()
            self.hub.forget(self)


class OwnerHub:
    """The Unix socket server and the bridge between owners and the tick thread."""

    def __init__(self, sock_path: str, tuning: RaftTuning):
        self.sock_path = sock_path
        self.tuning = tuning
        self.node: RaftNode | None = None
        self.consumer: StoreConsumer | None = None
        self._owners: set[Owner] = set()
        self._owners_lock = threading.Lock()
        self._requests: collections.deque = collections.deque()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._wake_registered = False

    def attach(self, node: RaftNode, consumer: StoreConsumer) -> None:
        self.node, self.consumer = node, consumer

    def serve(self) -> None:
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(self.sock_path)
        os.chmod(self.sock_path, 0o600)
        server.listen(8)
        threading.Thread(target=self._accept_loop, args=(server,), name="owner-accept", daemon=True).start()

    def _accept_loop(self, server: socket.socket) -> None:
        while True:
            sock, _ = server.accept()
            owner = Owner(self, sock)
            with self._owners_lock:
                self._owners.add(owner)

    def forget(self, owner: Owner) -> None:
        with self._owners_lock:
            self._owners.discard(owner)

    def _subscribed(self) -> list[Owner]:
        with self._owners_lock:
            return [o for o in self._owners if o.subscribed]

    # -- from owner reader threads ---------------------------------------------------

    def handle(self, owner: Owner, message: dict) -> None:
        kind = message.get("t")
        if kind == "propose":
            commands = message.get("c")
            if not isinstance(commands, list):
                return
            self.consumer.apply_batch(commands, callback=functools.partial(self._on_result, owner, message.get("id")))
        elif kind == "member":
            address = str(message.get("address"))
            callback = functools.partial(self._on_member, owner, message.get("id"))
            try:
                if message.get("action") == "add":
                    self.node.addNodeToCluster(address, callback=callback)
                else:
                    self.node.removeNodeFromCluster(address, callback=callback)
            except Exception as exc:  # noqa: BLE001 - reported to the owner
                owner.push(framing.encode({"t": "member", "id": message.get("id"), "ok": False, "err": str(exc)}))
        elif kind == "compact":
            self.node.forceLogCompaction()
        elif kind in ("hello", "status"):
            self._requests.append((owner, message))
            try:
                os.write(self._wake_w, b"x")
            except BlockingIOError:
                pass

    # -- tick thread -----------------------------------------------------------------

    def before_tick(self) -> None:
        node = self.node
        if node is None:
            return
        if not self._wake_registered:
            node._poller.subscribe(self._wake_r, self._drain_wake, POLL_EVENT_TYPE.READ)
            self._wake_registered = True
        self.consumer.flush_reset(node.raftLastApplied)
        while self._requests:
            owner, message = self._requests.popleft()
            if message["t"] == "hello":
                owner.push(self._snapshot_frame(node.raftLastApplied))
                owner.subscribed = True
            else:
                owner.push(framing.encode({"t": "status", "id": message.get("id"), "status": self._status()}))

    def _drain_wake(self, fd, event) -> None:
        try:
            while os.read(fd, 4096):
                pass
        except BlockingIOError:
            pass

    def on_applied(self, index: int, commands: list, results: list) -> None:
        owners = self._subscribed()
        if owners:
            # No results: the owner's mirror applies the commands itself, and a proposer
            # gets its own in the "result" frame. Encoding them (whole instance records)
            # here, in the tick thread, cost more than the commands (placement at scale).
            frame = framing.encode({"t": "applied", "i": index, "c": commands})
            for owner in owners:
                owner.push(frame)

    def on_reset(self, index: int) -> None:
        owners = self._subscribed()
        if owners:
            frame = self._snapshot_frame(index)
            for owner in owners:
                owner.push(frame)

    def _snapshot_frame(self, index: int) -> bytes:
        return framing.encode({"t": "snapshot", "i": index, "s": self.consumer.state.to_dict()})

    def _on_result(self, owner: Owner, request_id, result, error) -> None:
        if error == 0 and result is not None:
            frame = {"t": "result", "id": request_id, "ok": True, "i": result["index"], "r": result["results"]}
        else:
            frame = {"t": "result", "id": request_id, "ok": False, "err": FAIL_NAMES.get(error, str(error))}
        owner.push(framing.encode(frame))

    def _on_member(self, owner: Owner, request_id, result, error) -> None:
        owner.push(framing.encode({"t": "member", "id": request_id, "ok": error == 0,
                                   "err": FAIL_NAMES.get(error, str(error))}))

    def _status(self) -> dict:
        node = self.node
        raw = node.getStatus()
        members = [[str(node.selfNode), True]]
        for other in sorted(node.otherNodes, key=str):
            members.append([str(other), node.isNodeConnected(other)])
        journal = node._journal
        return {
            "self_address": str(node.selfNode),
            "role": ROLE_NAMES.get(raw["state"], str(raw["state"])),
            "term": raw["raft_term"],
            "leader": str(raw["leader"]) if raw["leader"] is not None else None,
            "commit_index": raw["commit_idx"],
            "raft_applied_index": raw["last_applied"],
            "members": members,
            "has_quorum": raw["has_quorum"],
            "ready": node.isReady(),
            "fsync_count": FSYNCS.count,
            "log_size": raw["log_len"],
            "journal_bytes": journal.size_bytes,
            "snapshots_written": journal.compactions,
            "pid": os.getpid(),
        }


def build_conf(tuning: RaftTuning, self_address: str, password: str, data_dir: str) -> SyncObjConf:
    return SyncObjConf(
        password=password,
        bindAddress=self_address,
        autoTick=True,
        autoTickPeriod=tuning.tick_period_s,
        raftMinTimeout=tuning.election_min_s,
        raftMaxTimeout=tuning.election_max_s,
        appendEntriesPeriod=tuning.append_period_s,
        leaderFallbackTimeout=tuning.leader_fallback_s,
        connectionTimeout=tuning.connection_timeout_s,
        connectionRetryTime=tuning.connection_retry_s,
        appendEntriesUseBatch=False,
        appendEntriesBatchSizeBytes=tuning.append_entries_max_bytes,
        sendBufferSize=tuning.socket_buffer_bytes,
        recvBufferSize=tuning.socket_buffer_bytes,
        commandsQueueSize=tuning.commands_queue_size,
        commandsWaitLeader=False,  # fail fast (MISSING_LEADER = surely not applied); the client retries
        logCompactionMinEntries=tuning.log_compaction_min_entries,
        logCompactionMinTime=tuning.log_compaction_min_time_s,
        logCompactionBatchSize=1 << 20,
        fullDumpFile=os.path.join(data_dir, SNAPSHOT_FILE),
        journalFile=os.path.join(data_dir, "journal"),  # opened by our DurableJournal
        useFork=True,
        dynamicMembershipChange=True,
        bindRetryTime=0.1,
        maxBindRetries=0,
    )


def _watch_stdin() -> None:
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    os._exit(0)


def _take_lock(data_dir: str, timeout: float) -> int:
    """Exclusive per-data-dir lock: a previous Raft process of a dead owner may still be
    exiting; wait for it rather than fight over the port and the journal."""
    fd = os.open(os.path.join(data_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise SystemExit(f"data dir {data_dir} is locked by another Raft process")
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scheduler.store.process")
    parser.add_argument("--config", required=True)
    args = parser.parse_args(argv)
    with open(args.config) as f:
        cfg = json.load(f)

    die_with_parent()
    parent = cfg.get("parent_pid")
    if parent and os.getppid() != parent:
        os._exit(0)
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s raft[%(process)d] %(levelname)s %(name)s: %(message)s")
    if cfg.get("watch_stdin", True):
        threading.Thread(target=_watch_stdin, name="stdin-watch", daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))

    data_dir = cfg["data_dir"]
    tuning = RaftTuning.from_dict(cfg.get("tuning", {}))
    _take_lock(data_dir, timeout=10.0)
    dump_path = os.path.join(data_dir, SNAPSHOT_FILE)

    journal = DurableJournal(data_dir, dump_path=dump_path, base=snapshot_base(dump_path))
    pysyncobj.syncobj.createJournal = lambda journal_file=None: journal
    pysyncobj.serializer.atomicReplace = durable_snapshot_replace
    pysyncobj.serializer.gzip = _FastGzip  # level 1: the child finishes ~5x sooner than at 9
    os.register_at_fork(after_in_child=_snapshot_child_setup)

    hub = OwnerHub(os.path.join(data_dir, framing.SOCKET_FILE), tuning)
    state = ReplicatedState(cfg["machine"], dedup_window_ms=tuning.dedup_window_ms)
    consumer = StoreConsumer(state, hub.on_applied, hub.on_reset)
    conf = build_conf(tuning, cfg["self_address"], cfg["password"], data_dir)
    node = RaftNode(cfg["self_address"], cfg["peers"], conf, consumer, journal, hub.before_tick)
    hub.attach(node, consumer)
    hub.serve()
    log.info("raft node %s up (peers %s)", cfg["self_address"], cfg["peers"])

    # pysyncobj's tick thread stops when the thread that built the SyncObj exits, so
    # the main thread stays here watching its parent.
    while True:
        time.sleep(0.1)
        if parent and os.getppid() != parent:
            os._exit(0)
        if not node.tick_thread_alive():
            log.error("tick thread died")
            os._exit(1)


if __name__ == "__main__":
    main()
