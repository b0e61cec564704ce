"""Join tokens and the certificate deny-list in the replicated state (findings 5 and 6)."""
from common.tls import join_secret_hash
from scheduler.state import enrollment
from scheduler.state.machine import ClusterState

MiB = 1024**2
HOUR_MS = 3600 * 1000


def apply(state, index, op, args, ts=None):
    return state.apply(op, args, {"rid": f"r{index}", "ts": ts or 1_000_000 + index, "index": index})


def token(state, index, name="h1", token_id="a" * 12, role="agent", expires_ms=2_000_000):
    return apply(state, index, "join_token.create", {
        "token_id": token_id, "secret_hash": join_secret_hash("s3cret"), "role": role, "name": name,
        "addresses": ["10.0.0.1"], "expires_ms": expires_ms, "created_by": "admin"})


def use(state, index, name="h1", token_id="a" * 12, secret="s3cret", serial="abc1", ts=None):
    return apply(state, index, "join_token.use", {
        "token_id": token_id, "secret_hash": join_secret_hash(secret), "name": name, "serial": serial,
        "not_after_ms": 9_000_000, "used_by": "127.0.0.1"}, ts=ts)


def join(state, index, name="h1", host_id="h-1"):
    return apply(state, index, "host.join", {
        "id": host_id, "name": name, "address": "127.0.0.1:1",
        "capacity": {"vcpus": 8, "memory_bytes": 4096 * MiB, "disk_bytes": 0}})


def code(result):
    return result.get("error", {}).get("code")


def test_a_token_is_used_once_for_its_one_name():
    state = ClusterState()
    assert "error" not in token(state, 1)
    assert code(use(state, 2, name="h2")) == "PERMISSION_DENIED"
    assert code(use(state, 3, secret="guess")) == "UNAUTHENTICATED"
    assert use(state, 4) == {"role": "agent", "name": "h1"}
    again = use(state, 5, serial="abc2")
    assert code(again) == "PERMISSION_DENIED" and enrollment.ALREADY_USED in again["error"]["message"]
    assert state.certificates["agent/h1"]["serial"] == "abc1"
    assert state.join_tokens["a" * 12]["used_by"] == "127.0.0.1"


def test_an_expired_token_or_an_existing_name_is_refused():
    state = ClusterState()
    token(state, 1, expires_ms=1_000_005)
    assert code(use(state, 2, ts=1_000_005)) == "UNAUTHENTICATED"
    token(state, 3, token_id="b" * 12)
    join(state, 4)          # the name became a host meanwhile (say it was DOWN and came back)
    assert code(use(state, 5, token_id="b" * 12)) == "FAILED_PRECONDITION"
    assert code(token(state, 6, token_id="c" * 12)) == "FAILED_PRECONDITION"


def test_removing_a_host_revokes_its_certificates_until_it_is_enrolled_again():
    state = ClusterState()
    token(state, 1)
    use(state, 2)
    join(state, 3)
    assert not enrollment.is_revoked(state, "agent", "h1", "abc1", 1_000_002)
    result = apply(state, 4, "host.remove", {"ref": "h1"}, ts=1_500_000)
    assert result["revoked_serials"] == ["abc1"] and "h-1" not in state.hosts
    assert enrollment.is_revoked(state, "agent", "h1", "abc1", 1_000_002)
    # A certificate of the name issued earlier (no serial on record: the CA tool's, or renewed).
    assert enrollment.is_revoked(state, "agent", "h1", "0ld", 900_000)
    assert not enrollment.is_revoked(state, "agent", "h2", "0ld", 900_000)
    token(state, 5, token_id="d" * 12, expires_ms=3_000_000)
    assert "error" not in use(state, 6, token_id="d" * 12, serial="new1", ts=1_500_001)
    assert not enrollment.is_revoked(state, "agent", "h1", "new1", 1_400_000)   # clock skew: serial wins
    assert enrollment.is_revoked(state, "agent", "h1", "abc1", 1_000_002)


def test_a_host_with_instances_is_not_removed():
    state = ClusterState()
    join(state, 1)
    apply(state, 2, "instance.create", {
        "id": "i-1", "name": "web", "project": "default", "host_id": "h-1",
        "spec": {"image": "img", "vcpus": 1, "memory_bytes": 64 * MiB, "disk_bytes": 0}})
    assert code(apply(state, 3, "host.remove", {"ref": "h1"})) == "FAILED_PRECONDITION"
    assert "h-1" in state.hosts and not state.revoked_names


def test_a_removed_scheduler_is_revoked_and_readmitted_when_added_back():
    state = ClusterState()
    member = {"name": "sched-3", "api": "127.0.0.1:1", "raft": "127.0.0.1:2"}
    apply(state, 1, "cluster.member_remove", member, ts=2_000_000)
    assert enrollment.is_revoked(state, "scheduler", "sched-3", "x", 1_000_000)
    apply(state, 2, "cluster.member_add", member)
    assert not enrollment.is_revoked(state, "scheduler", "sched-3", "x", 1_000_000)


def test_renewal_is_recorded_only_for_a_live_unrevoked_identity():
    state = ClusterState()
    join(state, 1)
    renew = {"role": "agent", "name": "h1", "serial": "r1", "not_after_ms": 9_000_000,
             "old": {"serial": "abc1", "issued_ms": 500}}
    assert "error" not in apply(state, 2, "certificate.renew", renew)
    assert state.certificates["agent/h1"]["serial"] == "r1"
    assert code(apply(state, 3, "certificate.renew", {**renew, "name": "ghost"})) == "NOT_FOUND"


def test_a_state_saved_before_these_records_loads():
    state = ClusterState()
    join(state, 1)
    old = state.to_dict()
    for key in enrollment.COLLECTIONS:
        del old[key]
    loaded = ClusterState.from_dict(old)
    assert loaded.join_tokens == {} and loaded.revoked_names == {} and "h-1" in loaded.hosts
    assert ClusterState.from_dict(loaded.to_dict()).to_dict() == loaded.to_dict()


def test_the_schedulers_deny_list_for_agents_grows_its_revision_with_every_change():
    state = ClusterState()
    assert enrollment.schedulers_denied(state) == {"revision": 0, "names": [], "serials": []}
    member = {"name": "sched-3", "api": "127.0.0.1:1", "raft": "127.0.0.1:2"}
    state.certificates["scheduler/sched-3"] = {"role": "scheduler", "name": "sched-3", "serial": "5e",
                                              "issued_ms": 1, "not_after_ms": 9_000_000, "ca": ""}
    apply(state, 1, "cluster.member_remove", member, ts=2_000_000)
    removed = enrollment.schedulers_denied(state)
    assert removed["revision"] == 2_000_000 and removed["serials"] == ["5e"]
    assert removed["names"] == [{"name": "sched-3", "revoked_ms": 2_000_000, "current_serial": ""}]
    # A host's removal is not the agents' business, but it still moves the revision on.
    join(state, 2)
    apply(state, 3, "host.remove", {"ref": "h1"}, ts=2_000_000)
    assert enrollment.schedulers_denied(state)["revision"] == 2_000_001
    apply(state, 4, "cluster.member_add", member, ts=1_500_000)   # a proposer's clock behind
    readmitted = enrollment.schedulers_denied(state)
    assert readmitted == {"revision": 2_000_002, "names": [], "serials": []}


def test_a_removed_scheduler_cannot_record_a_renewal():
    state = ClusterState()
    member = {"name": "sched-3", "api": "127.0.0.1:1", "raft": "127.0.0.1:2"}
    apply(state, 1, "cluster.member_remove", member, ts=2_000_000)
    renew = {"role": "scheduler", "name": "sched-3", "serial": "r1", "not_after_ms": 9_000_000,
             "old": {"serial": "abc1", "issued_ms": 3_000_000}}
    assert code(apply(state, 2, "certificate.renew", renew)) == "FAILED_PRECONDITION"
    assert "scheduler/sched-3" not in state.certificates
    ok = {**renew, "name": "sched-1"}
    assert "error" not in apply(state, 3, "certificate.renew", ok)
    assert state.certificates["scheduler/sched-1"]["serial"] == "r1"
