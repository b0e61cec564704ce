import pickle

from scheduler.store.base import make_command, validate_command
from scheduler.store.mirror import Mirror
from scheduler.store.replicated import MachinePickle, ReplicatedState
from scheduler.store.testing_machine import KeyValueMachine
from scheduler.store.tuning import RaftTuning

MACHINE = "scheduler.store.testing_machine:KeyValueMachine"


def cmd(op, rid, ts=1000, **args):
    return {"rid": rid, "op": op, "args": args, "ts": ts}


def test_batch_results_in_order():
    s = ReplicatedState(MACHINE)
    out = s.apply_batch([cmd("put", "a", key="k", value=1), cmd("incr", "b", key="k"),
                         cmd("cas", "c", key="k", expect=5, value=0), cmd("get", "d", key="k")], index=2)
    assert out.results == [{"ok": True}, {"value": 2},
                           {"error": {"code": "FAILED_PRECONDITION", "message": "value changed"}}, {"value": 2}]
    assert out.fresh == [True, True, True, True]


def test_dedup_returns_stored_result_without_applying():
    s = ReplicatedState(MACHINE)
    first = s.apply_batch([cmd("incr", "r1", key="n")], index=2)
    again = s.apply_batch([cmd("incr", "r1", key="n"), cmd("incr", "r2", key="n")], index=3)
    assert first.results == [{"value": 1}]
    assert again.results == [{"value": 1}, {"value": 2}]
    assert again.fresh == [False, True]
    assert s.machine.applied == {"r1": 1, "r2": 1}


def test_duplicate_inside_one_batch():
    s = ReplicatedState(MACHINE)
    out = s.apply_batch([cmd("incr", "x", key="n"), cmd("incr", "x", key="n")], index=2)
    assert out.results == [{"value": 1}, {"value": 1}] and out.fresh == [True, False]


def test_exception_becomes_internal_error():
    s = ReplicatedState(MACHINE)
    out = s.apply_batch([cmd("fail", "f", message="kaput"), cmd("incr", "g", key="n")], index=2)
    assert out.results[0] == {"error": {"code": "INTERNAL", "message": "kaput"}}
    assert out.results[1] == {"value": 1}


def test_malformed_command_is_rejected_deterministically():
    s = ReplicatedState(MACHINE)
    out = s.apply_batch([{"op": "incr"}], index=2)
    assert out.results[0]["error"]["code"] == "INVALID_ARGUMENT"


def test_prune_is_driven_by_applied_ts_only():
    s = ReplicatedState(MACHINE, dedup_window_ms=1000)
    s.apply_batch([cmd("incr", "old", ts=1000, key="n")], index=2)
    s.apply_batch([cmd("incr", "mid", ts=1500, key="n")], index=3)
    assert set(s.dedup) == {"old", "mid"}
    s.apply_batch([cmd("incr", "new", ts=2600, key="n")], index=4)
    assert set(s.dedup) == {"new"}  # both fell more than 1000 ms behind ts 2600


def test_to_dict_round_trip():
    s = ReplicatedState(MACHINE)
    s.apply_batch([cmd("put", "a", key="k", value={"x": [1, 2]}), cmd("incr", "b", key="n")], index=2)
    t = ReplicatedState.from_dict(MACHINE, s.to_dict())
    assert t.to_dict() == s.to_dict()
    assert t.apply_batch([cmd("incr", "b", key="n")], 3).fresh == [False]


def test_machine_pickle_defers_to_dict():
    m = KeyValueMachine()
    m.data["k"] = 1
    restored = pickle.loads(pickle.dumps(MachinePickle(MACHINE, m), 2))
    assert isinstance(restored, KeyValueMachine) and restored.to_dict() == m.to_dict()


def test_make_and_validate_command():
    c = make_command("put", {"key": "k"})
    validate_command(c)
    assert len(c["rid"]) == 32 and isinstance(c["ts"], int)


def test_mirror_watch_filters_duplicates_and_never_goes_back():
    m = Mirror(MACHINE, 3_600_000)
    seen = []
    m.add_watcher(lambda i, c, r: seen.append((i, [x["rid"] for x in c] if c else None)))
    m.load_snapshot(1, ReplicatedState(MACHINE).to_dict())
    m.apply(2, [cmd("incr", "a", key="n")], [])
    m.apply(3, [cmd("incr", "a", key="n"), cmd("incr", "b", key="n")], [])
    m.apply(3, [cmd("incr", "c", key="n")], [])  # replayed index: ignored
    assert seen == [(2, ["a"]), (3, ["b"])]
    older = ReplicatedState(MACHINE)
    older.apply_batch([cmd("incr", "a", key="n")], 2)
    m.load_snapshot(2, older.to_dict())  # a restarted Raft process, behind us
    assert m.index == 3 and m.state.machine.data["n"] == 2
    m.apply(3, [cmd("incr", "a", key="n"), cmd("incr", "b", key="n")], [])
    assert m.index == 3 and seen[-1] == (3, ["b"])  # swapped back, nothing notified twice
    m.apply(5, [cmd("incr", "d", key="n")], [])
    assert seen[-1] == (5, ["d"]) and m.state.machine.data["n"] == 3
    newer = ReplicatedState(MACHINE)
    m.load_snapshot(9, newer.to_dict())
    assert seen[-1] == (9, None) and m.index == 9


def test_mirror_waiters():
    m = Mirror(MACHINE, 3_600_000)
    m.load_snapshot(1, ReplicatedState(MACHINE).to_dict())
    hits = []
    m.call_when_applied(3, lambda: hits.append(3))
    m.call_when_applied(1, lambda: hits.append(1))
    assert hits == [1]
    m.apply(3, [], [])
    assert hits == [1, 3]


def test_tuning_help_covers_every_field():
    help = RaftTuning.help()
    assert help["election_min_s"][0] == RaftTuning().election_min_s
    assert all(text for _, text in help.values())
    assert RaftTuning.from_dict(RaftTuning().to_dict()) == RaftTuning()
