"""Fault injection for whole-cluster tests: extra agents, a recorded workload of
concurrent clients, and a checker of the recorded history.

The workload records every operation's invocation and outcome; `check` then
verifies the promises a cloud makes whatever faults happened meanwhile:
every acknowledged create is present (unless it was deleted with an
acknowledgement), nothing appears that was never requested, no instance runs in
more than one container or on a host other than its own, and the reads of each
client session never go back in time.
"""
from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from agent.config import AgentConfig
from cli.client import ClusterClient, RetryPolicy
from cli.errors import RpcFailure
from common import config as configlib
from common import tls
from proto.v1 import public_pb2, resources_pb2 as pb

MiB = 1024**2
REPO = Path(__file__).resolve().parents[3]


class ExtraAgent:
    """One more agent process for an all-in-one cluster, with its own certificate."""

    def __init__(self, aio, name: str, port: int):
        self.aio, self.name, self.port = aio, name, port
        self.proc: subprocess.Popen | None = None
        home = Path(aio.home)
        tls.issue(home / "ca", home / "tls", name, "agent", ["127.0.0.1", "localhost"])
        config = AgentConfig(name=name, listen=f"127.0.0.1:{port}", schedulers=list(aio.endpoints),
                             data_dir=home / "data" / name, tls_dir=home / "tls", capacity_vcpus=64)
        self.config_path = home / "etc" / f"{name}.toml"
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(configlib.render(config, with_help=False))
        self.log_path = home / "log" / f"{name}.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "agent.main", "--config", str(self.config_path)],
                                         cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@dataclass
class Op:
    session: int
    kind: str            # create, delete, relabel, get
    name: str
    start: float
    end: float = 0.0
    ok: bool | None = None   # None: outcome unknown (an error that may have been applied)
    instance_id: str = ""
    revision: int = 0
    error: str = ""


@dataclass
class History:
    ops: list[Op] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: Op) -> None:
        with self.lock:
            self.ops.append(op)

    def counts(self) -> dict:
        acknowledged = sum(1 for op in self.ops if op.ok)
        unknown = sum(1 for op in self.ops if op.ok is None)
        return {"operations": len(self.ops), "acknowledged": acknowledged, "outcome_unknown": unknown}


def _client(cluster) -> ClusterClient:
    return ClusterClient(cluster.aio.endpoints, tls.TlsFiles.in_dir(Path(cluster.home) / "tls", "admin"),
                         read_policy=RetryPolicy(call_timeout=2.0, budget=20.0),
                         write_policy=RetryPolicy(call_timeout=2.0, budget=20.0))


def run_session(cluster, session: int, history: History, stop: threading.Event, seed: int) -> None:
    """One client session: creates, deletes, relabels and reads of its own instances."""
    rng = random.Random(seed)
    client = _client(cluster)
    mine: list[str] = []
    seen_revision = 0
    n = 0
    try:
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.5 or not mine:
                name = f"s{session}-{n}"
                n += 1
                op = Op(session, "create", name, time.monotonic())
                request = public_pb2.CreateInstanceRequest(
                    name=name, request_id=f"hist-{seed}-{name}",
                    spec=pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=8 * MiB,
                                         command=["sleep", "3600"]))
                call = lambda: client.call("Instances", "CreateInstance", request, write=True)  # noqa: E731
            elif roll < 0.6:
                name = mine.pop(rng.randrange(len(mine)))
                op = Op(session, "delete", name, time.monotonic())
                call = lambda: client.call("Instances", "DeleteInstance",  # noqa: E731
                                           public_pb2.DeleteInstanceRequest(name=name), write=True,
                                           ok_after_retry=(__import__("grpc").StatusCode.NOT_FOUND,))
            elif roll < 0.75:
                name = rng.choice(mine)
                op = Op(session, "relabel", name, time.monotonic())
                update = public_pb2.UpdateInstanceRequest(update_mask={"paths": ["meta.labels"]})
                update.instance.meta.name = name
                update.instance.meta.labels["n"] = str(n)
                call = lambda: client.call("Instances", "UpdateInstance", update, write=True)  # noqa: E731
            else:
                name = rng.choice(mine)
                op = Op(session, "get", name, time.monotonic())
                get = public_pb2.GetInstanceRequest(name=name, min_revision=seen_revision)
                call = lambda: client.call("Instances", "GetInstance", get)  # noqa: E731
            try:
                reply = call()
                op.ok = True
                if reply is not None and hasattr(reply, "meta"):
                    op.instance_id, op.revision = reply.meta.id, reply.meta.revision
                    seen_revision = max(seen_revision, op.revision)
                if op.kind == "create":
                    mine.append(op.name)
            except RpcFailure as err:
                op.error = f"{err.code.name}: {err}"
                # Refusals are certain; anything else may have been applied.
                op.ok = False if err.code.name in ("NOT_FOUND", "ALREADY_EXISTS", "INVALID_ARGUMENT",
                                                   "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED") else None
            op.end = time.monotonic()
            history.add(op)
            time.sleep(rng.uniform(0.05, 0.2))
    finally:
        client.close()


def run_workload(cluster, sessions: int, seconds: float, fault, fault_after: float, seed: int) -> History:
    history = History()
    stop = threading.Event()
    threads = [threading.Thread(target=run_session, args=(cluster, s, history, stop, seed * 100 + s))
               for s in range(sessions)]
    for t in threads:
        t.start()
    time.sleep(fault_after)
    fault()
    time.sleep(max(0.0, seconds - fault_after))
    stop.set()
    for t in threads:
        t.join(timeout=120)
    return history


def check(history: History, instances: list, containers: list, agent_of_host: dict) -> list[str]:
    """Every broken promise in the history, as one line each (empty: all kept)."""
    problems = []
    final = {i.meta.name: i for i in instances}
    requested = {op.name for op in history.ops if op.kind == "create"}
    deleted_ack = {op.name for op in history.ops if op.kind == "delete" and op.ok}
    deleted_maybe = {op.name for op in history.ops if op.kind == "delete" and op.ok is None}
    for op in history.ops:
        if op.kind == "create" and op.ok and op.name not in deleted_ack | deleted_maybe:
            if op.name not in final:
                problems.append(f"acknowledged create of {op.name} lost")
            elif final[op.name].meta.id != op.instance_id:
                problems.append(f"{op.name} has id {final[op.name].meta.id}, client was told {op.instance_id}")
    for name in deleted_ack:
        if name in final:
            problems.append(f"acknowledged delete of {name} undone")
    for name in final:
        if name.startswith("s") and name not in requested:
            problems.append(f"{name} appeared without being requested")
    by_id = {}
    for c in containers:
        iid = c.labels.get("thecloud.instance-id")
        if c.status == "running":
            by_id.setdefault(iid, []).append(c)
    ids = {i.meta.id: i for i in instances}
    for iid, running in by_id.items():
        if len(running) > 1:
            problems.append(f"instance {iid} runs {len(running)} times")
        if iid not in ids:
            problems.append(f"container for {iid} runs without a record")
        elif agent_of_host.get(ids[iid].host_name) != running[0].labels.get("thecloud.agent"):
            problems.append(f"instance {iid} runs on {running[0].labels.get('thecloud.agent')}, "
                            f"not on its host {ids[iid].host_name}")
    last_revision: dict[tuple[int, str], int] = {}
    for op in sorted(history.ops, key=lambda o: o.end):
        if op.kind in ("get", "relabel") and op.ok:
            key = (op.session, op.name)
            if op.revision < last_revision.get(key, 0):
                problems.append(f"session {op.session} read {op.name} at revision {op.revision} "
                                f"after {last_revision[key]}")
            last_revision[key] = max(last_revision.get(key, 0), op.revision)
    return problems
