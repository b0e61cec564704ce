"""A 3-node Raft store on loopback: replication, failover, restarts."""

import threading
import time

import pytest

from scheduler.store.base import OutcomeUnknown, Unavailable, make_command
from scheduler.store.testing import LocalCluster, free_ports

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


@pytest.fixture
def cluster(tmp_path):
    c = LocalCluster(tmp_path).start()
    yield c
    c.stop()


def put(key, value):
    return make_command("put", {"key": key, "value": value})


def test_propose_from_follower_reaches_every_mirror(cluster):
    follower = cluster.followers()[0]
    results = follower.propose([put("a", 1), make_command("incr", {"key": "n"}),
                                make_command("incr", {"key": "n"})])
    assert results == [{"ok": True}, {"value": 1}, {"value": 2}]
    assert follower.read().data == {"a": 1, "n": 2}  # read-your-writes on the proposing node
    cluster.wait_applied(follower.applied_index)
    for store in cluster.running():
        assert store.read().data == {"a": 1, "n": 2}
    other = cluster.followers()[1]
    assert other.barrier() >= follower.applied_index
    snap = other.snapshot()
    assert snap["state"]["data"] == {"a": 1, "n": 2} and snap["index"] >= follower.applied_index


def test_retry_with_same_rid_is_not_applied_twice(cluster):
    store = cluster.followers()[0]
    cmd = make_command("incr", {"key": "n"})
    assert store.propose([cmd]) == [{"value": 1}]
    assert cluster.leader().propose([cmd]) == [{"value": 1}]
    assert store.propose_one("incr", {"key": "n"}) == {"value": 2}


def test_watch_callbacks_in_order_with_consistent_reads(cluster):
    store = cluster.followers()[0]
    seen = []

    def on_applied(index, commands, results):
        # read_lock is held and the mirror shows exactly the state after `index`
        seen.append((index, [c["rid"] for c in commands], store.read().data.get("n")))

    unsubscribe = store.watch(on_applied)
    cmds = [make_command("incr", {"key": "n"}) for _ in range(5)]
    for cmd in cmds:
        cluster.leader().propose([cmd])
    store.propose([cmds[0]])  # duplicate: not reported again
    store.barrier()
    unsubscribe()
    store.propose_one("incr", {"key": "n"})
    assert [rids for _, rids, _ in seen] == [[c["rid"]] for c in cmds]
    assert [n for _, _, n in seen] == [1, 2, 3, 4, 5]
    assert [i for i, _, _ in seen] == sorted(i for i, _, _ in seen)


def test_watch_callback_cannot_propose(cluster):
    store = cluster.followers()[0]
    errors = []

    def on_applied(index, commands, results):
        try:
            store.propose_one("incr", {"key": "x"})
        except RuntimeError as exc:
            errors.append(exc)

    store.watch(on_applied)
    store.propose_one("incr", {"key": "n"})
    assert errors


def test_status_for_fencing(cluster):
    leader = cluster.leader()
    st = leader.status()
    assert st.is_leader and st.term >= 1 and st.leader == leader.self_address
    assert sorted(m.address for m in st.members) == sorted(cluster.addresses)
    deadline = time.monotonic() + 5
    while not all(m.connected for m in leader.status().members):
        assert time.monotonic() < deadline, "peers never all connected"
        time.sleep(0.05)
    fst = cluster.followers()[0].status()
    assert fst.role == "follower" and fst.term == st.term and fst.leader == leader.self_address


def test_kill_leader_new_leader_keeps_acknowledged_writes(cluster):
    follower = cluster.followers()[0]
    for i in range(30):
        follower.propose([put(f"before-{i}", i)])
    old = cluster.wait_leader()
    old_term = cluster.stores[old].status().term
    cluster.kill_raft(old)
    new = cluster.wait_leader(exclude={old})
    assert new != old
    for i in range(30):
        follower.propose([put(f"after-{i}", i)])
    data = follower.read().data
    assert all(data[f"before-{i}"] == i and data[f"after-{i}"] == i for i in range(30))
    # the killed node's RaftStore respawned its Raft process, which catches up
    cluster.wait_applied(follower.applied_index)
    assert cluster.stores[old].read().data == data
    assert cluster.stores[new].status().term > old_term


def test_concurrent_proposers_while_leader_is_killed(cluster):
    acked, unknown, unavailable = [], [], []
    lock = threading.Lock()
    stop = threading.Event()

    def proposer(store):
        while not stop.is_set():
            cmd = make_command("incr", {"key": "n"})
            try:
                store.propose([cmd], timeout=3.0)
                with lock:
                    acked.append(cmd["rid"])
            except OutcomeUnknown:
                with lock:
                    unknown.append(cmd["rid"])
            except Unavailable:
                with lock:
                    unavailable.append(cmd["rid"])

    threads = [threading.Thread(target=proposer, args=(s,)) for s in cluster.running() for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    cluster.kill_raft(cluster.wait_leader())
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    survivor = cluster.leader()
    survivor.barrier()
    cluster.wait_applied(survivor.applied_index)
    for store in cluster.running():
        applied = store.read().applied
        assert all(count == 1 for count in applied.values()), "a rid was applied twice"
        assert all(rid in applied for rid in acked), "an acknowledged write was lost"
        assert store.read().data["n"] == len(applied)
        assert len(acked) <= len(applied) <= len(acked) + len(unknown) + len(unavailable)
    assert len(acked) > 50


def test_full_stop_and_start_keeps_state(cluster):
    leader = cluster.leader()
    leader.propose([put(f"k{i}", i) for i in range(200)])
    cluster.followers()[0].compact()  # one node restarts from snapshot + journal tail
    for i in range(50):
        leader.propose_one("incr", {"key": "n"})
    before = leader.snapshot()
    cluster.stop()
    cluster.start()
    leader = cluster.leader()
    leader.barrier()
    cluster.wait_applied(before["index"])
    for store in cluster.running():
        assert store.snapshot()["state"] == before["state"]


def test_single_node_recovers_from_snapshot_and_journal_tail(tmp_path):
    with LocalCluster(tmp_path, size=1).start() as c:
        store = c.running()[0]
        store.propose([put(f"k{i}", i) for i in range(300)])
        for i in range(20):
            store.propose_one("incr", {"key": "n"})
        store.compact()
        deadline = time.monotonic() + 10
        while store.status().snapshots_written < 1:
            assert time.monotonic() < deadline, "no snapshot"
            time.sleep(0.05)
        for i in range(30):  # the journal tail after the snapshot
            store.propose_one("incr", {"key": "m"})
        before = store.snapshot()
        log_size = store.status().log_size
        assert log_size < 30 + 5, "journal was not compacted"
        c.stop_node(store.self_address)
        restarted = c.start_node(c.addresses[0])
        restarted.barrier()
        assert restarted.snapshot()["state"] == before["state"]
        assert restarted.applied_index >= before["index"]


def test_unavailable_without_quorum(tmp_path):
    c = LocalCluster(tmp_path)
    try:
        lonely = c.start_node(c.addresses[0])
        started = time.monotonic()
        with pytest.raises(Unavailable):
            lonely.propose_one("incr", {"key": "n"}, timeout=1.0)
        assert time.monotonic() - started < 3
    finally:
        c.stop()


def test_add_and_remove_member(cluster, tmp_path):
    leader = cluster.leader()
    leader.propose([put("a", 1)])
    new_address = f"127.0.0.1:{free_ports(1)[0]}"
    from scheduler.store.client import RaftStore

    newcomer = RaftStore(cluster.machine, new_address, cluster.addresses, tmp_path / "new",
                         cluster.password, cluster.tuning)
    newcomer.start()
    try:
        cluster.followers()[0].add_member(new_address)
        deadline = time.monotonic() + 10
        while newcomer.read().data.get("a") != 1:
            assert time.monotonic() < deadline, "new member did not catch up"
            time.sleep(0.05)
        assert new_address in {m.address for m in leader.status().members}
        assert newcomer.propose_one("incr", {"key": "n"}) == {"value": 1}
        leader.remove_member(new_address)
        assert new_address not in {m.address for m in cluster.leader().status().members}
    finally:
        newcomer.stop()
