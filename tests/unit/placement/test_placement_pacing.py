"""The reconcile pacer at fleet scale: creates get quick visits, an observation that
settles its instance gets none, anything else a full visit (scheduler/leader/reconcile_pacing.py)."""
import threading
from types import SimpleNamespace

from placement_fixtures import apply, create, join

from scheduler.leader.reconcile_pacing import ReconcilePacer, settled
from scheduler.state.machine import ClusterState

CONFIG = SimpleNamespace(reconcile_interval=1000.0)


class LocalStore:
    def __init__(self, state):
        self.state = state
        self.read_lock = threading.RLock()

    def read(self):
        return self.state


def fleet(n: int = 3):
    state = ClusterState()
    for i in range(n):
        join(state, f"h{i}")
    pacer = ReconcilePacer(LocalStore(state), CONFIG)
    hosts = list(state.hosts.values())
    assert len(pacer.due_visits(hosts)) == n        # the first visits, all full; none due after
    return state, pacer, hosts


def visits(pacer, hosts):
    return {host["id"]: full for host, full in pacer.due_visits(hosts)}


def observe(state, name: str, host_id: str, observed: str, generation: int = 1) -> dict:
    args = {"id": f"i-{name}", "host_id": host_id, "state": observed, "runtime_id": "r", "reason": "",
            "started_ms": 1, "finished_ms": 0, "exit_code": 0, "generation": generation}
    apply(state, "instance.observe", args)
    return {"op": "instance.observe", "args": args}


def test_a_create_gets_a_quick_visit():
    state, pacer, hosts = fleet()
    create(state, "a", "h-h1")
    pacer._on_applied(5, [{"op": "instance.create", "args": {"id": "i-a", "host_id": "h-h1"}}], [{}])
    assert visits(pacer, hosts) == {"h-h1": False}
    assert visits(pacer, hosts) == {}


def test_the_observation_that_answers_an_ensure_touches_nothing():
    state, pacer, hosts = fleet()
    create(state, "a", "h-h0")
    command = observe(state, "a", "h-h0", "running")
    assert settled(state.instances["i-a"])
    pacer._on_applied(6, [command], [{}])
    assert visits(pacer, hosts) == {}


def test_an_observation_that_needs_work_gets_a_full_visit():
    state, pacer, hosts = fleet()
    create(state, "a", "h-h2", restart_policy="always")
    command = observe(state, "a", "h-h2", "failed")
    assert not settled(state.instances["i-a"])
    pacer._on_applied(6, [command], [{}])
    assert visits(pacer, hosts) == {"h-h2": True}


def test_full_wins_over_quick_and_other_commands_are_full():
    state, pacer, hosts = fleet()
    create(state, "a", "h-h0")
    create(state, "b", "h-h0")
    apply(state, "instance.set_desired", {"id": "i-b", "desired_state": "stopped"})
    pacer._on_applied(7, [{"op": "instance.create", "args": {"id": "i-a", "host_id": "h-h0"}},
                          {"op": "instance.set_desired", "args": {"id": "i-b"}}], [{}, {}])
    create(state, "c", "h-h1")
    pacer._on_applied(8, [{"op": "instance.create", "args": {"id": "i-c", "host_id": "h-h1"}}], [{}])
    pacer.revisit("h-h1", full=False)
    assert visits(pacer, hosts) == {"h-h0": True, "h-h1": False}


def test_a_quick_visit_does_not_postpone_the_periodic_full_one():
    state = ClusterState()
    join(state, "h0")
    pacer = ReconcilePacer(LocalStore(state), SimpleNamespace(reconcile_interval=0.0))
    hosts = list(state.hosts.values())
    create(state, "a", "h-h0")
    pacer._on_applied(5, [{"op": "instance.create", "args": {"id": "i-a", "host_id": "h-h0"}}], [{}])
    # Never visited in full yet (period 0: always due): the create's visit is a full one.
    assert visits(pacer, hosts) == {"h-h0": True}


def test_settled_follows_the_desired_state_and_generation():
    instance = {"desired_generation": 2, "ensured_generation": 1, "desired_state": "running", "state": "running"}
    assert not settled(instance)
    assert settled(dict(instance, ensured_generation=2))
    assert not settled(dict(instance, ensured_generation=2, state="stopped"))
    assert settled(dict(instance, ensured_generation=2, state="stopped", desired_state="stopped"))
    assert not settled(dict(instance, ensured_generation=2, desired_state="deleted", state="deleting"))
