"""When the reconciler asks an agent to converge an instance (`needs_ensure`), branch by
branch, and a full host visit asking for exactly those instances.

Instances are real records: created, started, stopped, observed and lost through
`ClusterState.apply`, as Raft applies them; what the agent reports is the
`ObservedInstance` message it sends.
"""
from __future__ import annotations

import itertools
import threading

import pytest

from common.errors import raise_for_result
from proto.v1 import agent_pb2, node_pb2, resources_pb2
from scheduler.config import SchedulerConfig
from scheduler.leader.reconciler import Reconciler, needs_ensure
from scheduler.state import records as r
from scheduler.state.machine import ClusterState

GiB = 1024**3
IMAGE = "img"
S = resources_pb2.InstanceState


class Replica:
    """One replica's state machine, fed commands the way Raft feeds them."""

    def __init__(self):
        self.state = ClusterState()
        self.read_lock = threading.RLock()
        self._index = itertools.count(1)
        self.proposed: list[tuple[str, dict]] = []

    def apply(self, op: str, args: dict) -> dict:
        n = next(self._index)
        return self.state.apply(op, args, {"rid": f"r{n}", "ts": 1_000_000 + n, "index": n})

    def ok(self, op: str, args: dict) -> dict:
        return raise_for_result(self.apply(op, args))

    def read(self):
        return self.state

    # the Proposer's interface, for the reconciler
    timeout = 1.0

    def propose(self, op, args, rid=None):
        self.proposed.append((op, args))
        return self.ok(op, args)

    def propose_many(self, commands):
        self.proposed.extend(commands)
        return [self.apply(op, args) for op, args in commands]

    def watch(self, callback):
        return lambda: None


@pytest.fixture
def replica() -> Replica:
    replica = Replica()
    replica.ok("host.join", {
        "id": "h-1", "name": "one", "address": "127.0.0.1:1",
        "capacity": {"vcpus": 16, "memory_bytes": 16 * GiB, "disk_bytes": 0},
        "drivers": ["compute:docker"], "images": [IMAGE]})
    return replica


def create(replica: Replica, name: str, policy: str = "never") -> dict:
    return replica.ok("instance.create", {
        "id": f"i-{name}", "name": name, "project": "default", "labels": {}, "host_id": "h-1",
        "spec": {"kind": "container", "image": IMAGE, "vcpus": 1, "memory_bytes": GiB, "disk_bytes": 0,
                 "command": [], "env": {}, "restart_policy": policy, "host_labels": {}},
        "overcommit": {}})["instance"]


def seen(state: str, exit_code: int = 0, instance_id: str = "") -> node_pb2.ObservedInstance:
    return node_pb2.ObservedInstance(instance_id=instance_id, state=getattr(S, f"INSTANCE_STATE_{state.upper()}"),
                                     exit_code=exit_code)


def ensured(replica: Replica, name: str, state: str = r.RUNNING, exit_code: int = 0) -> dict:
    """The instance after its host reported `state` in answer to the ensure of its
    current generation: nothing is left to converge for that generation."""
    instance = replica.state.instances[f"i-{name}"]
    replica.ok("instance.observe", {"id": instance["id"], "host_id": "h-1", "state": state,
                                    "exit_code": exit_code, "generation": instance["desired_generation"]})
    return instance


# -- a new generation --------------------------------------------------------------

def test_a_created_instance_is_ensured_whatever_its_host_reports(replica):
    instance = create(replica, "web")
    assert instance["desired_generation"] > instance["ensured_generation"]
    assert needs_ensure(instance, None)
    assert needs_ensure(instance, seen(r.RUNNING))


def test_start_and_stop_requests_are_new_generations_to_ensure(replica):
    create(replica, "web")
    instance = ensured(replica, "web")
    assert not needs_ensure(instance, seen(r.RUNNING))
    replica.ok("instance.set_desired", {"id": "i-web", "desired_state": r.DESIRED_STOPPED})
    assert needs_ensure(instance, seen(r.STOPPED))        # the stop itself must still be asked for
    ensured(replica, "web", r.STOPPED)
    replica.ok("instance.set_desired", {"id": "i-web", "desired_state": r.DESIRED_RUNNING})
    assert needs_ensure(instance, seen(r.RUNNING))


def test_a_new_generation_is_ensured_even_on_a_lost_instance(replica):
    """The generation check comes first: what the user asked last is always delivered."""
    instance = create(replica, "web")
    replica.ok("host.mark_down", {"id": "h-1", "ttl_ms": 1})
    assert instance["state"] == r.LOST
    assert needs_ensure(instance, None)


# -- settled generations: deleting and lost --------------------------------------------

def test_a_deleting_instance_is_never_ensured(replica):
    create(replica, "web", policy="always")
    instance = ensured(replica, "web")
    replica.ok("instance.delete", {"id": "i-web"})
    assert instance["state"] == r.DELETING
    for observed in (None, seen(r.STOPPED), seen(r.FAILED, 1), seen(r.RUNNING)):
        assert not needs_ensure(instance, observed)


def test_a_lost_instance_is_left_to_rescheduling(replica):
    create(replica, "web", policy="always")
    instance = ensured(replica, "web")
    replica.ok("host.mark_down", {"id": "h-1", "ttl_ms": 1})
    assert instance["state"] == r.LOST
    for observed in (None, seen(r.FAILED, 1)):
        assert not needs_ensure(instance, observed)


# -- desired stopped ---------------------------------------------------------------------

@pytest.mark.parametrize("policy", ["never", "on-failure", "always"])
def test_a_stopped_instance_found_running_is_stopped_again(replica, policy):
    create(replica, "web", policy=policy)
    ensured(replica, "web")
    replica.ok("instance.set_desired", {"id": "i-web", "desired_state": r.DESIRED_STOPPED})
    instance = ensured(replica, "web", r.STOPPED)
    assert needs_ensure(instance, seen(r.RUNNING))
    assert not needs_ensure(instance, seen(r.STOPPED))
    assert not needs_ensure(instance, seen(r.FAILED, 1))     # stopped for good: no restart policy applies
    assert not needs_ensure(instance, None)                  # nothing runs: as wanted


# -- desired running, nothing on the host ---------------------------------------------

@pytest.mark.parametrize("policy, wanted", [("never", False), ("on-failure", True), ("always", True)])
def test_an_instance_missing_from_its_host_is_recreated_unless_its_policy_is_never(replica, policy, wanted):
    create(replica, "web", policy=policy)
    instance = ensured(replica, "web")
    assert needs_ensure(instance, None) is wanted


def test_a_spec_without_a_restart_policy_means_never(replica):
    create(replica, "web")
    instance = ensured(replica, "web")
    del instance["spec"]["restart_policy"]       # records written before the field existed
    assert not needs_ensure(instance, None)
    assert not needs_ensure(instance, seen(r.FAILED, 1))


# -- desired running, exited on the host -----------------------------------------------

@pytest.mark.parametrize("policy, observed, wanted", [
    ("never", seen(r.STOPPED), False),
    ("never", seen(r.FAILED, 1), False),
    ("on-failure", seen(r.STOPPED), False),            # exited 0: done
    ("on-failure", seen(r.STOPPED, 3), True),          # a non-zero exit is a failure
    ("on-failure", seen(r.FAILED), True),              # failed without an exit code (engine error)
    ("always", seen(r.STOPPED), True),
    ("always", seen(r.FAILED, 1), True),
])
def test_an_exited_instance_restarts_as_its_policy_says(replica, policy, observed, wanted):
    create(replica, "web", policy=policy)
    instance = ensured(replica, "web")
    assert needs_ensure(instance, observed) is wanted


@pytest.mark.parametrize("state", [r.RUNNING, r.PENDING])
def test_a_running_or_starting_instance_is_left_alone(replica, state):
    create(replica, "web", policy="always")
    instance = ensured(replica, "web")
    assert not needs_ensure(instance, seen(state))


def test_an_unknown_observed_state_counts_as_failed(replica):
    """`state_from_pb` reads an unspecified state as FAILED: restarted when the policy says so."""
    create(replica, "web", policy="always")
    instance = ensured(replica, "web")
    observed = node_pb2.ObservedInstance(state=S.INSTANCE_STATE_UNSPECIFIED)
    assert needs_ensure(instance, observed)
    create(replica, "job", policy="never")
    assert not needs_ensure(ensured(replica, "job"), observed)


# -- a full host visit -------------------------------------------------------------------

class FakeAgent:
    """The agent's side of a host visit: it reports `observed` and records each call."""

    def __init__(self, observed: list[node_pb2.ObservedInstance]):
        self.observed = observed
        self.ensured: list[str] = []
        self.removed: list[str] = []

    def ListInstances(self, request, timeout=None):
        return agent_pb2.ListAgentInstancesResponse(instances=self.observed)

    def EnsureInstance(self, request, timeout=None):
        assert request.fence.term == 7
        self.ensured.append(request.instance_id)
        state = S.INSTANCE_STATE_STOPPED if request.desired_state == r.DESIRED_STOPPED else S.INSTANCE_STATE_RUNNING
        return node_pb2.ObservedInstance(instance_id=request.instance_id, state=state, runtime_id="c-1")

    def RemoveInstance(self, request, timeout=None):
        self.removed.append(request.instance_id)
        return agent_pb2.RemoveInstanceResponse()


class Agents:
    def __init__(self, agent):
        self.agent = agent

    def stub(self, host):
        return self.agent


def test_a_host_visit_ensures_exactly_the_instances_that_need_it(replica):
    create(replica, "fresh")                                   # a new generation
    create(replica, "crashed", policy="always")
    ensured(replica, "crashed")
    create(replica, "finished", policy="on-failure")
    ensured(replica, "finished")
    create(replica, "healthy", policy="always")
    ensured(replica, "healthy")
    create(replica, "gone", policy="never")
    ensured(replica, "gone")
    agent = FakeAgent([
        seen(r.RUNNING, instance_id="i-fresh"),
        seen(r.FAILED, 137, instance_id="i-crashed"),
        seen(r.STOPPED, 0, instance_id="i-finished"),
        seen(r.RUNNING, instance_id="i-healthy"),
        seen(r.RUNNING, instance_id="i-stranger"),             # not this host's: removed
    ])
    reconciler = Reconciler(replica, replica, Agents(agent), SchedulerConfig())
    try:
        reconciler.reconcile_host(dict(replica.state.hosts["h-1"]), term=7)
    finally:
        reconciler.stop()
    assert sorted(agent.ensured) == ["i-crashed", "i-fresh"]
    assert agent.removed == ["i-stranger"]
    instances = replica.state.instances
    assert instances["i-fresh"]["ensured_generation"] == instances["i-fresh"]["desired_generation"]
    assert instances["i-crashed"]["state"] == r.RUNNING
    assert instances["i-finished"]["state"] == r.STOPPED        # recorded, not restarted
    # Vanished with policy never: recorded as failed rather than recreated.
    assert (instances["i-gone"]["state"], instances["i-gone"]["reason"]) == (r.FAILED, "vanished from its host")
