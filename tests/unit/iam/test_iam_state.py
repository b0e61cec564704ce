"""IAM in the state machine: projects, principals, tokens, bindings, quotas, audit, secrets."""
import json

from scheduler.state.machine import ClusterState

GiB = 1024**3
HASH = "ab" * 32


def ctx(index, ts=1_000_000):
    return {"rid": f"r{index}", "ts": ts + index, "index": index}


def dump(state):
    return json.dumps(state.to_dict(), sort_keys=True)


def setup_host(state):
    state.apply("host.join", {"id": "h-a", "name": "a", "address": "a:1",
                              "capacity": {"vcpus": 64, "memory_bytes": 64 * GiB, "disk_bytes": 0},
                              "drivers": ["compute:docker"], "images": ["img"]}, ctx(1))


def create_instance(state, name, index, project="alpha", project_id=None, vcpus=1):
    args = {"id": f"i-{project}-{name}", "name": name, "project": project, "labels": {},
            "spec": {"image": "img", "vcpus": vcpus, "memory_bytes": GiB, "disk_bytes": 0},
            "host_id": "h-a", "overcommit": {}}
    if project_id:
        args["project_id"] = project_id
    return state.apply("instance.create", args, ctx(index))


def test_projects_are_unique_and_a_project_with_resources_cannot_be_deleted():
    state = ClusterState()
    setup_host(state)
    assert state.apply("project.create", {"id": "p-1", "name": "alpha"}, ctx(2))["project"]["id"] == "p-1"
    assert state.apply("project.create", {"id": "p-2", "name": "alpha"}, ctx(3))["error"]["code"] == "ALREADY_EXISTS"
    assert state.apply("project.create", {"id": "p-3", "name": "default"}, ctx(4))["error"]["code"] == "ALREADY_EXISTS"
    assert "instance" in create_instance(state, "web", 5, project_id="p-1")
    before = dump(state)
    refused = state.apply("project.delete", {"name": "alpha"}, ctx(6))
    assert refused["error"]["code"] == "FAILED_PRECONDITION" and "1 instances" in refused["error"]["message"]
    assert dump(state) == before
    state.apply("instance.purge", {"id": "i-alpha-web"}, ctx(7))
    assert state.apply("project.delete", {"name": "alpha"}, ctx(8)) == {"deleted": True}
    assert state.apply("project.delete", {"name": "default"}, ctx(9))["error"]["code"] == "FAILED_PRECONDITION"


def test_a_create_for_a_project_deleted_meanwhile_is_refused():
    state = ClusterState()
    setup_host(state)
    state.apply("project.create", {"id": "p-1", "name": "alpha"}, ctx(2))
    state.apply("project.delete", {"name": "alpha"}, ctx(3))
    state.apply("project.create", {"id": "p-9", "name": "alpha"}, ctx(4))   # same name, new project
    assert create_instance(state, "web", 5, project_id="p-1")["error"]["code"] == "NOT_FOUND"
    assert not state.instances


def test_quota_is_charged_in_apply_exactly_and_released_on_purge():
    state = ClusterState()
    setup_host(state)
    state.apply("project.create", {"id": "p-1", "name": "alpha"}, ctx(2))
    state.apply("quota.set", {"project": "alpha", "limits": {"instances": 2, "vcpus": 3}}, ctx(3))
    assert "instance" in create_instance(state, "one", 4, project_id="p-1", vcpus=2)
    before = dump(state)
    refused = create_instance(state, "two", 5, project_id="p-1", vcpus=2)
    assert refused["error"]["code"] == "RESOURCE_EXHAUSTED" and "vcpus" in refused["error"]["message"]
    assert dump(state) == before      # nothing half-made: no allocation, no usage, no record
    assert "instance" in create_instance(state, "two", 6, project_id="p-1", vcpus=1)
    assert create_instance(state, "three", 7, project_id="p-1")["error"]["code"] == "RESOURCE_EXHAUSTED"
    assert state.iam["usage"]["alpha"] == {"instances": 2, "vcpus": 3, "memory_bytes": 2 * GiB}
    state.apply("instance.purge", {"id": "i-alpha-one"}, ctx(8))
    assert "instance" in create_instance(state, "three", 9, project_id="p-1")
    assert state.apply("quota.set", {"project": "alpha", "limits": {"bogus": 1}}, ctx(10))["error"]["code"] \
        == "INVALID_ARGUMENT"


def test_a_bootstrap_whose_token_is_refused_creates_no_user():
    state = ClusterState()
    before = dump(state)
    refused = state.apply("iam.bootstrap", {"principal": {"id": "u-1", "name": "admin"},
                                            "token": {"id": "t-1", "hash": HASH, "scope_project": "nope",
                                                      "scope_role": "reader"}}, ctx(1))
    assert refused["error"]["code"] == "NOT_FOUND" and dump(state) == before
    assert "principal" in state.apply("iam.bootstrap", {"principal": {"id": "u-1", "name": "admin"},
                                                        "token": {"id": "t-1", "hash": HASH}}, ctx(2))


def test_tokens_bindings_and_bootstrap():
    state = ClusterState()
    state.apply("project.create", {"id": "p-1", "name": "alpha"}, ctx(1))
    first = state.apply("iam.bootstrap", {"principal": {"id": "u-1", "name": "admin"},
                                          "token": {"id": "t-1", "hash": HASH}}, ctx(2))
    assert first["principal"]["name"] == "admin" and state.iam["bootstrapped"]
    again = state.apply("iam.bootstrap", {"principal": {"id": "u-2", "name": "root"},
                                          "token": {"id": "t-2", "hash": HASH}}, ctx(3))
    assert again["error"]["code"] == "FAILED_PRECONDITION" and "u-2" not in state.iam["principals"]
    state.apply("principal.create", {"id": "u-3", "name": "alice", "kind": "user"}, ctx(4))
    assert state.apply("binding.create", {"principal": "alice", "role": "admin", "project": "alpha"},
                       ctx(5))["error"]["code"] == "INVALID_ARGUMENT"
    assert "binding" in state.apply("binding.create", {"principal": "alice", "role": "reader",
                                                       "project": "alpha"}, ctx(6))
    assert state.apply("binding.create", {"principal": "alice", "role": "reader", "project": "nope"},
                       ctx(7))["error"]["code"] == "NOT_FOUND"
    created = state.apply("token.create", {"id": "t-3", "principal_id": "u-3", "hash": HASH,
                                           "expires_ms": 5}, ctx(8))
    created["token"]["hash"] = "changed"          # results never alias the state
    assert state.iam["tokens"]["t-3"]["hash"] == HASH
    state.apply("token.revoke", {"id": "t-3"}, ctx(9))
    assert state.iam["tokens"]["t-3"]["revoked"] and not state.iam["tokens"]["t-3"]["hash"]
    state.apply("principal.delete", {"name": "alice"}, ctx(10))
    assert "t-3" not in state.iam["tokens"] and not any(
        b["principal_id"] == "u-3" for b in state.iam["bindings"].values())


def test_custom_roles_cannot_be_deleted_while_bound():
    state = ClusterState()
    state.apply("principal.create", {"id": "u-1", "name": "ops", "kind": "user"}, ctx(1))
    state.apply("role.create", {"name": "drainer", "permissions": ["host.drain", "host.get"]}, ctx(2))
    state.apply("binding.create", {"principal": "ops", "role": "drainer", "project": ""}, ctx(3))
    assert state.apply("role.delete", {"name": "drainer"}, ctx(4))["error"]["code"] == "FAILED_PRECONDITION"
    assert state.apply("role.delete", {"name": "member"}, ctx(5))["error"]["code"] == "FAILED_PRECONDITION"


def test_audit_retention_is_bounded_and_deterministic():
    replicas = [ClusterState(), ClusterState()]
    for replica in replicas:
        for i in range(10):
            entries = [{"ts": 1_000 + i * 10 + j, "principal": "p", "action": "instance.create"}
                       for j in range(3)]
            replica.apply("audit.append", {"entries": entries, "keep": 12, "max_age_ms": 0}, ctx(i, ts=0))
    assert dump(replicas[0]) == dump(replicas[1])
    entries = replicas[0].audit["entries"]
    assert len(entries) == 12 and entries[-1]["seq"] == 30 and entries[0]["seq"] == 19
    replicas[0].apply("audit.append", {"entries": [{"ts": 5_000}], "keep": 100, "max_age_ms": 10},
                      ctx(11, ts=4_995))
    assert [e["seq"] for e in replicas[0].audit["entries"]] == [31]


def test_state_round_trips_with_iam_audit_and_secrets():
    state = ClusterState()
    state.apply("project.create", {"id": "p-1", "name": "alpha"}, ctx(1))
    state.apply("secret.create", {"id": "s-1", "name": "db", "project": "alpha", "nonce": "bg==",
                                  "ciphertext": "Y2lwaGVy", "size_bytes": 6}, ctx(2))
    state.apply("audit.append", {"entries": [{"ts": 1}]}, ctx(3))
    restored = ClusterState.from_dict(json.loads(dump(state)))
    assert dump(restored) == dump(state)
    assert ClusterState.from_dict({}).iam["projects"] == {}   # a snapshot from before IAM
