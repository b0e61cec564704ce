"""`RaftStore`: the Store used inside the (never-forking) gRPC scheduler process.

It spawns the Raft process (`scheduler.store.process`) with Popen — no fork of this
process — talks to it over a Unix socket, and keeps a local mirror of the state.

Threads it owns:
  * supervisor: spawns/respawns the Raft process (PR_SET_PDEATHSIG ties the child to
    this thread, which lives until `stop()`), connects, and then *is* the reader:
    it applies the stream to the mirror and runs watch callbacks;
  * sender: packs queued proposals into batches (one Raft entry each) and writes them;
    up to ``max_inflight_batches`` are outstanding at once.

What callers may rely on:
  * `propose` returns only after the local mirror applied the batch that carried the
    commands (read-your-writes on this node), except when the mirror cannot catch up
    before the deadline, in which case the committed results are still returned.
  * Retrying is internal and uses the same rids, so a command is applied at most once.
  * `read()` returns the live mirror object. Hold ``store.read_lock`` while reading
    several things that must be consistent; without it the mirror may advance between
    two reads. Never mutate it.
  * Watch callbacks are called on the supervisor thread, in index order, with
    ``read_lock`` held, after the mirror applied the entry. They must be quick and must
    not call `propose`/`barrier`/`status` (these raise RuntimeError there); hand work
    to another thread. ``(index, None, None)`` means the mirror was replaced by a
    newer snapshot (e.g. this node was far behind): re-read everything.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.store import framing
from scheduler.store.base import (Member, OutcomeUnknown, Store, StoreError, StoreStatus,
                                  Unavailable, validate_command)
from scheduler.store.mirror import Mirror
from scheduler.store.tuning import RaftTuning

log = logging.getLogger(__name__)

# pysyncobj failures after which the commands were surely not appended anywhere.
CLEAN_FAILURES = {"MISSING_LEADER", "QUEUE_FULL", "NOT_LEADER"}


@dataclass(eq=False)
class _Request:
    commands: list
    encoded: list[bytes]
    deadline: float
    size: int
    event: threading.Event = field(default_factory=threading.Event)
    results: list | None = None
    index: int = 0
    attempt: int = 0  # id of the latest batch carrying it
    uncertain: bool = False  # some attempt may have been applied
    abandoned: bool = False
    error: Exception | None = None


@dataclass(eq=False)
class _Batch:
    requests: list[_Request]
    sent_at: float
    generation: int


class RaftStore(Store):
    def __init__(self, machine: str, self_address: str, peers: list[str], data_dir: Path | str,
                 password: str, tuning: RaftTuning | None = None):
        if not password:
            raise ValueError("a cluster password is required")
        host = self_address.rsplit(":", 1)[0]
        if host in ("0.0.0.0", "::", ""):
            raise ValueError("self_address must be a concrete address, Raft binds to it only")
        self.machine_path = machine
        self.self_address = self_address
        self.peers = list(dict.fromkeys([self_address] + list(peers)))
        self.data_dir = Path(data_dir)
        self.password = password
        self.tuning = tuning or RaftTuning()
        self._mirror = Mirror(machine, self.tuning.dedup_window_ms)
        self._cv = threading.Condition()
        self._queue: collections.deque[_Request] = collections.deque()
        self._delayed: list[tuple[float, _Request]] = []
        self._inflight: dict[int, _Batch] = {}
        self._rpcs: dict[int, list] = {}  # id -> [event, reply]
        self._ids = itertools.count(1)
        self._sock: socket.socket | None = None
        self._generation = 0
        self._send_lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._stopping = False
        self._started = False
        self._supervisor: threading.Thread | None = None
        self._sender: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        self._supervisor = threading.Thread(target=self._supervise, name=f"store-{self.self_address}", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name=f"store-send-{self.self_address}", daemon=True)
        self._started = True
        self._supervisor.start()
        self._sender.start()
        if not self._mirror.loaded.wait(self.tuning.startup_timeout_s):
            self.stop()
            raise StoreError(f"Raft process for {self.self_address} did not start; see {self.data_dir / 'raft.log'}")

    def stop(self) -> None:
        with self._cv:
            if self._stopping:
                return
            self._stopping = True
            self._cv.notify_all()
        self._close_socket()
        proc = self._proc
        if proc is not None:
            self._end_process(proc)
        for thread in (self._supervisor, self._sender):
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=5)
        with self._cv:
            for req in list(self._queue) + [r for _, r in self._delayed] + \
                    [r for b in self._inflight.values() for r in b.requests]:
                if req.results is None and req.error is None:
                    req.error = OutcomeUnknown("store stopped") if req.uncertain or req.attempt else Unavailable("store stopped")
                    req.event.set()
            self._queue.clear()
            self._delayed.clear()
            self._inflight.clear()

    @property
    def raft_pid(self) -> int | None:
        """Pid of the current Raft process (for tests and operators)."""
        proc = self._proc
        return proc.pid if proc is not None else None

    # -- Store interface -------------------------------------------------------------

    @property
    def read_lock(self) -> threading.RLock:
        return self._mirror.lock

    def read(self):
        return self._mirror.state.machine

    @property
    def applied_index(self) -> int:
        return self._mirror.index

    def watch(self, callback):
        return self._mirror.add_watcher(callback)

    def snapshot(self) -> dict:
        with self._mirror.lock:
            return {"index": self._mirror.index, "state": self._mirror.state.machine.to_dict()}

    def propose(self, commands: list[dict], timeout: float = 5.0) -> list[dict]:
        self._check_thread()
        for cmd in commands:
            validate_command(cmd)
        encoded = [json.dumps(c, separators=(",", ":")).encode() for c in commands]
        req = _Request(list(commands), encoded, time.monotonic() + timeout, sum(map(len, encoded)))
        return self._await(self._submit(req)).results

    def barrier(self, timeout: float = 5.0) -> int:
        """Commit an empty batch through the leader, wait until the mirror applied it;
        afterwards reads reflect every write acknowledged before the call."""
        self._check_thread()
        req = _Request([], [], time.monotonic() + timeout, 0)
        return self._await(self._submit(req)).index

    def status(self, timeout: float = 2.0) -> StoreStatus:
        self._check_thread()
        s = self._rpc({"t": "status"}, timeout)["status"]
        s["members"] = [Member(a, bool(c)) for a, c in s["members"]]
        return StoreStatus(applied_index=self._mirror.index, **s)

    def add_member(self, address: str, timeout: float = 10.0) -> None:
        self._change_member("add", address, timeout)

    def remove_member(self, address: str, timeout: float = 10.0) -> None:
        self._change_member("remove", address, timeout)

    def compact(self) -> None:
        """Ask the Raft process to compact its log now (fork + snapshot)."""
        self._send(framing.encode({"t": "compact"}))

    # -- proposals ---------------------------------------------------------------------

    def _check_thread(self) -> None:
        if not self._started or self._stopping:
            raise Unavailable("store is not running")
        if threading.current_thread() is self._supervisor:
            raise RuntimeError("the store cannot be called from a watch callback")

    def _submit(self, req: _Request) -> _Request:
        with self._cv:
            self._queue.append(req)
            self._cv.notify_all()
        return req

    def _await(self, req: _Request) -> _Request:
        req.event.wait(max(0.0, req.deadline - time.monotonic()))
        with self._cv:
            if req.error is not None:
                raise req.error
            if req.results is not None:
                return req
            req.abandoned = True
            if req.uncertain or req.attempt in self._inflight:
                raise OutcomeUnknown(f"no answer for {len(req.commands)} command(s) before the deadline")
            raise Unavailable("no leader reachable before the deadline")

    def _send_loop(self) -> None:
        t = self.tuning
        while True:
            with self._cv:
                while True:
                    if self._stopping:
                        return
                    now = time.monotonic()
                    self._promote_delayed(now)
                    self._expire_inflight(now)
                    if self._queue and self._sock is not None and len(self._inflight) < t.max_inflight_batches:
                        break
                    self._cv.wait(0.05)
                batch_requests, count, size = [], 0, 0
                while self._queue:
                    req = self._queue[0]
                    if req.abandoned or req.results is not None:
                        self._queue.popleft()
                        continue
                    if batch_requests and (count + len(req.commands) > t.batch_max_commands
                                           or size + req.size > t.batch_max_bytes):
                        break
                    self._queue.popleft()
                    batch_requests.append(req)
                    count += len(req.commands)
                    size += req.size
                if not batch_requests:
                    continue
                batch_id = next(self._ids)
                for req in batch_requests:
                    req.attempt = batch_id
                self._inflight[batch_id] = _Batch(batch_requests, time.monotonic(), self._generation)
            body = b",".join(e for req in batch_requests for e in req.encoded)
            frame = b'{"t":"propose","id":%d,"c":[%s]}' % (batch_id, body)
            try:
                self._send(len(frame).to_bytes(4, "big") + frame)
            except OSError:
                pass  # the supervisor sees the broken connection and retries the batch

    def _promote_delayed(self, now: float) -> None:
        if self._delayed:
            ready = [r for at, r in self._delayed if at <= now]
            if ready:
                self._delayed = [(at, r) for at, r in self._delayed if at > now]
                self._queue.extend(r for r in ready if not r.abandoned)

    def _expire_inflight(self, now: float) -> None:
        for batch_id, batch in list(self._inflight.items()):
            if now - batch.sent_at > self.tuning.attempt_timeout_s:
                self._fail_batch(batch_id, "TIMEOUT", delay=0.0)

    def _fail_batch(self, batch_id: int, reason: str, delay: float) -> None:
        """Under _cv. Retry every request whose latest attempt was this batch."""
        batch = self._inflight.pop(batch_id, None)
        if batch is None:
            return
        retry_at = time.monotonic() + delay
        for req in batch.requests:
            if req.attempt != batch_id or req.results is not None or req.abandoned:
                continue
            if reason not in CLEAN_FAILURES:
                req.uncertain = True
            if retry_at < req.deadline:
                self._delayed.append((retry_at, req))
        self._cv.notify_all()

    def _on_result(self, message: dict) -> None:
        batch_id = message.get("id")
        with self._cv:
            if not message.get("ok"):
                self._fail_batch(batch_id, message.get("err", "UNKNOWN"), self.tuning.retry_backoff_s)
                return
            batch = self._inflight.pop(batch_id, None)
            self._cv.notify_all()
        if batch is None:
            return  # a late answer to an attempt that already timed out; its retry is answered by dedup
        index, results, pos = message["i"], message["r"], 0
        for req in batch.requests:
            n = len(req.commands)
            with self._cv:
                if req.results is None:
                    req.results, req.index = results[pos:pos + n], index
                    self._mirror.call_when_applied(index, req.event.set)
            pos += n

    # -- control RPCs --------------------------------------------------------------------

    def _rpc(self, message: dict, timeout: float) -> dict:
        rpc_id = next(self._ids)
        slot = [threading.Event(), None]
        with self._cv:
            if self._sock is None:
                raise Unavailable("Raft process not connected")
            self._rpcs[rpc_id] = slot
        try:
            self._send(framing.encode(dict(message, id=rpc_id)))
            if not slot[0].wait(timeout):
                raise Unavailable(f"Raft process did not answer {message['t']!r} in {timeout}s")
        except OSError as exc:
            raise Unavailable(f"Raft process connection lost: {exc}") from exc
        finally:
            with self._cv:
                self._rpcs.pop(rpc_id, None)
        if slot[1] is None:
            raise Unavailable("Raft process connection lost")
        return slot[1]

    def _change_member(self, action: str, address: str, timeout: float) -> None:
        self._check_thread()
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            members = {m.address for m in self.status().members}
            if (action == "add") == (address in members):
                return
            try:
                reply = self._rpc({"t": "member", "action": action, "address": address},
                                  max(0.1, deadline - time.monotonic()))
                last = reply.get("err")
                if reply.get("ok"):
                    return
            except Unavailable as exc:
                last = str(exc)
            time.sleep(0.1)
        raise OutcomeUnknown(f"membership change {action} {address} not confirmed: {last}")

    # -- the Raft process and its connection -------------------------------------------

    def _send(self, data: bytes) -> None:
        sock = self._sock
        if sock is None:
            raise OSError("not connected")
        with self._send_lock:
            sock.sendall(data)

    def _supervise(self) -> None:
        while not self._stopping:
            proc = self._proc
            if proc is None or proc.poll() is not None:
                if proc is not None:
                    log.warning("Raft process %s exited with %s; respawning", proc.pid, proc.returncode)
                    time.sleep(self.tuning.respawn_delay_s)
                    if self._stopping:
                        return
                proc = self._proc = self._spawn()
            sock = self._connect(proc)
            if sock is None:
                continue
            with self._cv:
                if self._stopping:
                    sock.close()
                    return
                self._sock = sock
                self._generation += 1
                self._cv.notify_all()
            try:
                self._send(framing.encode({"t": "hello"}))
                self._read_loop(sock)
            except (OSError, ValueError) as exc:
                log.warning("Raft process connection lost: %s", exc)
            finally:
                self._on_disconnected(sock)

    def _spawn(self) -> subprocess.Popen:
        sock_path = self.data_dir / framing.SOCKET_FILE
        if sock_path.exists():
            sock_path.unlink()  # never talk to a previous, dying Raft process
        config = {
            "machine": self.machine_path,
            "self_address": self.self_address,
            "peers": self.peers,
            "data_dir": str(self.data_dir),
            "password": self.password,
            "tuning": self.tuning.to_dict(),
            "parent_pid": os.getpid(),
        }
        config_path = self.data_dir / "raft-process.json"
        fd = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(config, f)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p and os.path.isdir(p))
        with open(self.data_dir / "raft.log", "ab") as log_file:
            return subprocess.Popen(
                [sys.executable, "-m", "scheduler.store.process", "--config", str(config_path)],
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log_file,
                env=env, close_fds=True,
            )

    def _connect(self, proc: subprocess.Popen) -> socket.socket | None:
        path = str(self.data_dir / framing.SOCKET_FILE)
        while not self._stopping and proc.poll() is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
                return sock
            except OSError:
                sock.close()
                time.sleep(0.02)
        return None

    def _read_loop(self, sock: socket.socket) -> None:
        reader = framing.FrameReader(sock)
        mirror = self._mirror
        while True:
            message = reader.read()
            if message is None:
                return
            kind = message.get("t")
            if kind == "applied":
                mirror.apply(message["i"], message["c"], message.get("r"))
            elif kind == "result":
                self._on_result(message)
            elif kind == "snapshot":
                mirror.load_snapshot(message["i"], message["s"])
            elif kind in ("status", "member"):
                with self._cv:
                    slot = self._rpcs.get(message.get("id"))
                if slot is not None:
                    slot[1] = message
                    slot[0].set()

    def _on_disconnected(self, sock: socket.socket) -> None:
        with self._cv:
            if self._sock is sock:
                self._sock = None
            for batch_id in list(self._inflight):
                self._fail_batch(batch_id, "DISCONNECTED", self.tuning.retry_backoff_s)
            for slot in self._rpcs.values():
                slot[0].set()
        try:
            sock.close()
        except OSError:
            pass
        proc = self._proc
        if proc is not None and proc.poll() is None and not self._stopping:
            time.sleep(0.05)  # the process dropped us but lives: just reconnect

    def _close_socket(self) -> None:
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    @staticmethod
    def _end_process(proc: subprocess.Popen) -> None:
        try:
            if proc.stdin:
                proc.stdin.close()  # EOF: the Raft process exits
        except OSError:
            pass
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=3)
