"""CreateInstance when a proposal goes wrong: the retry loop after a lost placement race,
and a caller's retry after an unknown outcome.

The servicer, the real `Proposer` and the real state machine run in process; only the
store is a stand-in, and it keeps the store's contract (scheduler/store/base.py): a
command whose rid was applied before is answered with its first result and not applied
again. What goes wrong is injected in the store, in the order a Raft cluster would
make it happen: another scheduler's create committed first, or an answer lost in a
leader change while the command was, or was not yet, applied.
"""
from __future__ import annotations

import itertools
import threading

import grpc
import pytest

from proto.v1 import public_pb2, resources_pb2
from scheduler.api.instances import PLACEMENT_ATTEMPTS, InstancesServicer
from scheduler.config import SchedulerConfig
from scheduler.proposer import Proposer
from scheduler.state import records as r
from scheduler.state.machine import ClusterState
from scheduler.store.base import OutcomeUnknown, make_command

GiB = 1024**3
IMAGE = "img"


class RaceStore:
    """An in-process store with rid deduplication and hooks for what goes wrong.

    `before_apply(command)` runs before each proposed command is applied (another
    scheduler's commit lands first). `lose_answer` lists how the next answers are
    lost: "applied" applies the command and raises OutcomeUnknown; "in-flight" raises
    OutcomeUnknown and applies the command only when the next proposal arrives (a slow
    entry that commits after the leader change)."""

    def __init__(self):
        self.state = ClusterState()
        self.read_lock = threading.RLock()
        self.applied_index = 0
        self.results: dict[str, dict] = {}
        self.proposed: list[dict] = []         # every command that reached the store, in order
        self.before_apply = lambda command: None
        self.lose_answer: list[str] = []
        self._in_flight: list[dict] = []
        self.barriers = 0
        self._ts = itertools.count(2_000_000)

    def read(self):
        return self.state

    def barrier(self, timeout: float = 5.0) -> int:
        self.barriers += 1
        return self.applied_index

    def _apply(self, command: dict) -> dict:
        if command["rid"] in self.results:              # deduplicated: the first outcome
            return self.results[command["rid"]]
        with self.read_lock:
            self.applied_index += 1
            result = self.state.apply(command["op"], command["args"],
                                      {"rid": command["rid"], "ts": next(self._ts), "index": self.applied_index})
        self.results[command["rid"]] = result
        return result

    def commit(self, op: str, args: dict) -> dict:
        """A command from elsewhere (another scheduler, a test's setup)."""
        return self._apply(make_command(op, args))

    def propose(self, commands: list[dict], timeout: float = 5.0) -> list[dict]:
        while self._in_flight:
            self._apply(self._in_flight.pop(0))
        self.proposed.extend(commands)
        lost = self.lose_answer.pop(0) if self.lose_answer else None
        if lost == "in-flight":
            self._in_flight.extend(commands)
            raise OutcomeUnknown("leader changed before the entry committed")
        results = []
        for command in commands:
            self.before_apply(command)
            results.append(self._apply(command))
        if lost == "applied":
            raise OutcomeUnknown("leader changed after the entry committed")
        return results

    def propose_one(self, op, args, rid=None, ts=None, timeout=5.0):
        return self.propose([make_command(op, args, rid, ts)], timeout=timeout)[0]

    def creates(self) -> list[dict]:
        return [c for c in self.proposed if c["op"] == "instance.create"]


class Aborted(Exception):
    def __init__(self, code, details):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


class Context:
    def abort(self, code, details):
        raise Aborted(code, details)


@pytest.fixture
def store() -> RaceStore:
    store = RaceStore()
    for name in ("a", "b", "c"):
        store.commit("host.join", {
            "id": f"h-{name}", "name": name, "address": "127.0.0.1:1",
            "capacity": {"vcpus": 4, "memory_bytes": 2 * GiB, "disk_bytes": 10 * GiB},
            "drivers": ["compute:docker"], "images": [IMAGE]})
    return store


def servicer(store: RaceStore) -> InstancesServicer:
    return InstancesServicer(store, Proposer(store, timeout=1.0), agents=None, config=SchedulerConfig())


def request(name: str = "web", request_id: str = "", memory: int = GiB) -> public_pb2.CreateInstanceRequest:
    return public_pb2.CreateInstanceRequest(
        name=name, project="default", request_id=request_id,
        spec=resources_pb2.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=memory))


def create(store: RaceStore, req: public_pb2.CreateInstanceRequest):
    return servicer(store).CreateInstance(req, Context())


def named(store: RaceStore, name: str) -> list[dict]:
    return [i for i in store.state.instances.values() if i["name"] == name]


def fill_host_first(store: RaceStore, times: int = 1) -> list[str]:
    """Before each of our next `times` creates, another scheduler's create that takes
    all the memory of the host ours was placed on commits first. Returns those hosts."""
    filled: list[str] = []

    def before_apply(command: dict) -> None:
        if command["op"] != "instance.create" or len(filled) >= times:
            return
        host_id = command["args"]["host_id"]
        filled.append(host_id)
        store.commit("instance.create", {
            "id": f"i-rival{len(filled)}", "name": f"rival{len(filled)}", "project": "default", "labels": {},
            "host_id": host_id, "overcommit": {},
            "spec": {"kind": "container", "image": IMAGE, "vcpus": 1, "memory_bytes": 2 * GiB, "disk_bytes": 0}})

    store.before_apply = before_apply
    return filled


# -- the servicer's loop: a lost placement race is decided again --------------------------

def test_a_create_that_loses_its_host_to_a_concurrent_one_is_placed_again_elsewhere(store):
    filled = fill_host_first(store)
    answer = create(store, request(request_id="req-1"))
    assert len(filled) == 1 and answer.host_id != filled[0]
    [instance] = named(store, "web")
    assert instance["host_id"] == answer.host_id and instance["id"] == answer.meta.id
    assert store.state.hosts[filled[0]]["allocated"]["memory_bytes"] == 2 * GiB     # the rival's alone
    assert store.state.hosts[answer.host_id]["allocated"]["memory_bytes"] == GiB
    # Each attempt is a new command (its own rid): reusing the first rid would answer
    # the refusal again from the store's deduplication.
    assert [c["args"]["host_id"] for c in store.creates()] == [filled[0], answer.host_id]
    first, second = (c["rid"] for c in store.creates())
    assert first != second and "req-1" in first and "req-1" in second
    assert store.barriers == 1                     # caught up before deciding again


def test_a_host_that_went_down_meanwhile_is_a_race_lost_too(store):
    downed: list[str] = []

    def before_apply(command: dict) -> None:
        if command["op"] == "instance.create" and not downed:
            downed.append(command["args"]["host_id"])
            store.commit("host.mark_down", {"id": downed[0], "ttl_ms": 1})

    store.before_apply = before_apply
    answer = create(store, request())
    assert store.state.hosts[downed[0]]["state"] == r.HOST_DOWN
    assert answer.host_id != downed[0]
    assert len(store.creates()) == 2 and len(named(store, "web")) == 1


def test_a_create_that_keeps_losing_gives_up_after_its_attempts_with_the_last_refusal(store):
    filled = fill_host_first(store, times=PLACEMENT_ATTEMPTS)
    with pytest.raises(Aborted) as refused:
        create(store, request(request_id="req-1"))
    assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(store.creates()) == PLACEMENT_ATTEMPTS
    assert sorted(filled) == ["h-a", "h-b", "h-c"]       # each attempt chose the host still free
    assert named(store, "web") == []
    assert all(h["allocated"]["memory_bytes"] == 2 * GiB for h in store.state.hosts.values())


def test_a_refusal_that_no_new_decision_can_change_is_not_retried(store):
    store.commit("instance.create", {
        "id": "i-web", "name": "web", "project": "default", "labels": {}, "host_id": "h-a", "overcommit": {},
        "spec": {"kind": "container", "image": IMAGE, "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0}})
    with pytest.raises(Aborted) as refused:
        create(store, request())
    assert refused.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert store.creates() == [] and store.barriers == 0


# -- the caller's retry after an unknown outcome ----------------------------------------------

def test_a_retry_after_an_unknown_outcome_that_was_applied_returns_the_same_instance(store):
    store.lose_answer = ["applied"]
    with pytest.raises(Aborted) as unknown:
        create(store, request(request_id="req-1"))
    assert unknown.value.code == grpc.StatusCode.UNAVAILABLE
    assert "retrying with the same request id is safe" in unknown.value.details
    [first] = named(store, "web")
    again = create(store, request(request_id="req-1"))
    assert again.meta.id == first["id"] and again.host_id == first["host_id"]
    assert len(store.creates()) == 1                 # found in the state: nothing proposed again
    assert sum(h["allocated"]["memory_bytes"] for h in store.state.hosts.values()) == GiB


def test_a_retry_while_the_first_attempt_is_still_in_flight_is_answered_by_deduplication(store):
    """The retry reads a state without the instance and decides afresh (a new id, maybe
    another host); its command carries the first attempt's rid, so the store answers
    with the first outcome instead of creating a second instance."""
    store.lose_answer = ["in-flight"]
    with pytest.raises(Aborted) as unknown:
        create(store, request(request_id="req-1"))
    assert unknown.value.code == grpc.StatusCode.UNAVAILABLE
    assert named(store, "web") == []                  # not committed yet
    again = create(store, request(request_id="req-1"))
    first, retry = store.creates()
    assert first["rid"] == retry["rid"]
    assert first["args"]["id"] != retry["args"]["id"]
    [instance] = named(store, "web")
    assert again.meta.id == instance["id"] == first["args"]["id"]
    assert sum(h["allocated"]["memory_bytes"] for h in store.state.hosts.values()) == GiB


def test_without_a_request_id_a_retry_after_an_applied_unknown_outcome_finds_the_name_taken(store):
    store.lose_answer = ["applied"]
    with pytest.raises(Aborted):
        create(store, request())
    with pytest.raises(Aborted) as again:
        create(store, request())
    assert again.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert len(named(store, "web")) == 1


def test_the_same_request_id_for_another_name_creates_that_one(store):
    """The request id makes a retry of one create safe; it does not make two names one
    (the store's rid was the request id alone, and answered "db" with "web")."""
    web = create(store, request("web", request_id="req-1"))
    other = create(store, request("db", request_id="req-1"))
    assert other.meta.name == "db" and other.meta.id != web.meta.id
    assert {i["name"] for i in store.state.instances.values()} == {"web", "db"}


def test_another_projects_request_under_the_same_id_never_reads_this_ones_instance(store):
    store.commit("project.create", {"id": "p-other", "name": "other"})
    mine = create(store, request("web", request_id="script-1"))
    theirs = create(store, public_pb2.CreateInstanceRequest(
        name="web", project="other", request_id="script-1",
        spec=resources_pb2.InstanceSpec(image=IMAGE, vcpus=1, memory_bytes=GiB)))
    assert theirs.meta.project == "other" and theirs.meta.id != mine.meta.id
    assert len(named(store, "web")) == 2
