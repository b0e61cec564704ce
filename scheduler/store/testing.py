"""TEST HARNESS: local Raft clusters on 127.0.0.1 for the store's tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

from scheduler.store.client import RaftStore
from scheduler.store.tuning import RaftTuning

TEST_MACHINE = "scheduler.store.testing_machine:KeyValueMachine"
TEST_PASSWORD = "test-cluster-secret"


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


class LocalCluster:
    """N RaftStores (each with its own Raft process) in this process."""

    def __init__(self, base_dir: Path, size: int = 3, tuning: RaftTuning | None = None,
                 machine: str = TEST_MACHINE, password: str = TEST_PASSWORD):
        self.base_dir = Path(base_dir)
        self.addresses = [f"127.0.0.1:{p}" for p in free_ports(size)]
        self.tuning = tuning or RaftTuning()
        self.machine = machine
        self.password = password
        self.stores: dict[str, RaftStore | None] = {a: None for a in self.addresses}

    def make_store(self, address: str) -> RaftStore:
        return RaftStore(self.machine, address, self.addresses, self.base_dir / address.replace(":", "_"),
                         self.password, self.tuning)

    def start(self, wait_leader: float = 15.0) -> "LocalCluster":
        for address in self.addresses:
            self.start_node(address)
        if wait_leader:
            self.wait_leader(wait_leader)
        return self

    def start_node(self, address: str) -> RaftStore:
        store = self.make_store(address)
        store.start()
        self.stores[address] = store
        return store

    def stop_node(self, address: str) -> None:
        store = self.stores.get(address)
        if store is not None:
            store.stop()
            self.stores[address] = None

    def stop(self) -> None:
        for address in self.addresses:
            self.stop_node(address)

    def running(self) -> list[RaftStore]:
        return [s for s in self.stores.values() if s is not None]

    def leader(self, timeout: float = 10.0, exclude: set[str] = frozenset()) -> RaftStore:
        return self.stores[self.wait_leader(timeout, exclude)]

    def wait_leader(self, timeout: float = 10.0, exclude: set[str] = frozenset()) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for store in self.running():
                if store.self_address in exclude:
                    continue
                try:
                    st = store.status()
                except Exception:  # noqa: BLE001 - the node may be restarting
                    continue
                if st.is_leader and st.has_quorum:
                    return st.self_address
            time.sleep(0.05)
        raise TimeoutError("no leader elected")

    def followers(self) -> list[RaftStore]:
        leader = self.wait_leader()
        return [s for s in self.running() if s.self_address != leader]

    def kill_raft(self, address: str) -> int:
        """kill -9 the Raft process of a node (its RaftStore respawns it)."""
        pid = self.stores[address].raft_pid
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_applied(self, index: int, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(s.applied_index >= index for s in self.running()):
                return
            time.sleep(0.02)
        raise TimeoutError(f"not every node applied {index}: {[s.applied_index for s in self.running()]}")

    def __enter__(self) -> "LocalCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def spawn_raft_process(address: str, peers: list[str], data_dir: Path, tuning: RaftTuning | None = None,
                       machine: str = TEST_MACHINE, password: str = TEST_PASSWORD):
    """A bare Raft process with no RaftStore owner (benchmarks: a follower that costs
    no mirror). It exits when this process dies or closes its stdin."""
    import json
    import subprocess
    import sys

    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    config = data_dir / "raft-process.json"
    config.write_text(json.dumps({
        "machine": machine, "self_address": address, "peers": peers, "data_dir": str(data_dir),
        "password": password, "tuning": (tuning or RaftTuning()).to_dict(), "parent_pid": os.getpid(),
    }))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p and os.path.isdir(p)))
    with open(data_dir / "raft.log", "ab") as log_file:
        return subprocess.Popen([sys.executable, "-m", "scheduler.store.process", "--config", str(config)],
                                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log_file, env=env)
