"""Quotas on what lives only in the replicated state — secrets, images, security groups
and their rules, tokens — and paginated IAM lists (issue 14, finding 10)."""
import json
import threading

import grpc
import pytest

from common.errors import raise_for_result
from proto.v1 import iam_pb2, secrets_pb2
from scheduler.api.principals import PrincipalsServicer
from scheduler.api.roles import RolesServicer
from scheduler.api.secrets import SecretsServicer
from scheduler.api.tokens import TokensServicer
from scheduler.state import iam, quota
from scheduler.state.machine import ClusterState

HASH = "ab" * 32


def ctx(index, ts=1_000_000):
    return {"rid": f"r{index}", "ts": ts + index, "index": index}


def dump(state):
    return json.dumps(state.to_dict(), sort_keys=True)


class Replica:
    """A state and the next Raft index."""

    def __init__(self):
        self.state, self.index = ClusterState(), 0

    def apply(self, op, args, ts=1_000_000):
        self.index += 1
        return self.state.apply(op, args, ctx(self.index, ts))

    def refused(self, op, args, code="RESOURCE_EXHAUSTED"):
        """`op` answers `code` and leaves the state exactly as it was."""
        before = dump(self.state)
        result = self.apply(op, args)
        assert result.get("error", {}).get("code") == code, result
        assert dump(self.state) == before
        return result["error"]["message"]

    def used(self, project="alpha"):
        return {k: v for k, v in self.state.iam["usage"].get(project, {}).items() if k in quota.COUNTED}


def secret(n, project="alpha", size=10):
    return {"id": f"s-{project}-{n}", "name": f"s{n}", "project": project, "nonce": "bm9uY2U=",
            "ciphertext": "Y2lwaGVy", "size_bytes": size}


def image(n, project="alpha"):
    return {"id": f"m-{project}-{n}", "name": f"img{n}", "project": project,
            "image": {"source": "https://example.test/disk.qcow2", "sha256": "00" * 32, "disk": "d"}}


def rule(n):
    return {"id": f"r-{n}", "direction": "ingress", "protocol": "tcp", "port_min": 1000 + n}


@pytest.fixture
def alpha():
    replica = Replica()
    replica.apply("project.create", {"id": "p-1", "name": "alpha"})
    return replica


def test_every_project_has_finite_defaults_for_state_only_resources(alpha):
    limits = {r: v["limit"] for r, v in quota.report(alpha.state, "alpha").items()}
    for resource in ("secrets", "secret_bytes", "images", "security_groups", "security_group_rules"):
        assert limits[resource] == quota.DEFAULT_LIMITS[resource] > 0
    assert limits["instances"] == -1            # the older quotas stay unlimited unless set
    # -1 set explicitly means unlimited, even where a default applies.
    alpha.apply("quota.set", {"project": "alpha", "limits": {"secrets": -1, "vcpus": -1}})
    assert alpha.state.iam["quotas"]["alpha"] == {"secrets": -1}
    assert quota.report(alpha.state, "alpha")["secrets"]["limit"] == -1
    for n in range(3):
        assert "secret" in alpha.apply("secret.create", secret(n))


def test_secrets_are_charged_refused_and_released(alpha):
    alpha.apply("quota.set", {"project": "alpha", "limits": {"secrets": 2, "secret_bytes": 25}})
    assert "secret" in alpha.apply("secret.create", secret(1, size=10))
    assert "secret" in alpha.apply("secret.create", secret(2, size=10))
    assert "secrets limit 2, used 2" in alpha.refused("secret.create", secret(3, size=1))
    alpha.apply("secret.delete", {"id": "s-alpha-1"})
    assert alpha.used() == {"secrets": 1, "secret_bytes": 10}
    assert "secret_bytes limit 25" in alpha.refused("secret.create", secret(3, size=16))
    assert "secret" in alpha.apply("secret.create", secret(3, size=15))
    assert alpha.used() == {"secrets": 2, "secret_bytes": 25}
    # Another project's usage is its own.
    assert "secret" in alpha.apply("secret.create", secret(1, project="default", size=500))


def test_images_are_charged_refused_and_released(alpha):
    alpha.apply("quota.set", {"project": "alpha", "limits": {"images": 1}})
    assert "image" in alpha.apply("image.import", image(1))
    assert "images limit 1" in alpha.refused("image.import", image(2))
    alpha.apply("image.delete", {"id": "m-alpha-1"})
    assert alpha.used() == {}
    assert "image" in alpha.apply("image.import", image(2))


def test_security_groups_and_rules_are_charged_per_project_and_released(alpha):
    alpha.apply("quota.set", {"project": "alpha", "limits": {"security_groups": 2,
                                                               "security_group_rules": 3}})
    for name in ("web", "db"):
        assert "security_group" in alpha.apply("security_group.create",
                                               {"id": f"g-{name}", "name": name, "project": "alpha"})
    assert "security_groups limit 2" in alpha.refused(
        "security_group.create", {"id": "g-x", "name": "x", "project": "alpha"})
    for n, group in ((1, "g-web"), (2, "g-web"), (3, "g-db")):
        assert "security_group" in alpha.apply("security_group.add_rule", {"id": group, "rule": rule(n)})
    assert "security_group_rules limit 3" in alpha.refused(
        "security_group.add_rule", {"id": "g-db", "rule": rule(4)})
    alpha.apply("security_group.remove_rule", {"id": "g-db", "rule_id": "r-3"})
    assert alpha.used() == {"security_groups": 2, "security_group_rules": 2}
    alpha.apply("security_group.delete", {"id": "g-web"})       # takes its two rules along
    assert alpha.used() == {"security_groups": 1}
    for n in (4, 5, 6):
        assert "security_group" in alpha.apply("security_group.add_rule", {"id": "g-db", "rule": rule(n)})


def test_usage_of_a_state_from_before_these_quotas_is_recounted_on_load(alpha):
    alpha.apply("secret.create", secret(1, size=7))
    alpha.apply("image.import", image(1))
    alpha.apply("security_group.create", {"id": "g-web", "name": "web", "project": "alpha"})
    alpha.apply("security_group.add_rule", {"id": "g-web", "rule": rule(1)})
    expected = alpha.used()
    assert expected == {"secrets": 1, "secret_bytes": 7, "images": 1, "security_groups": 1,
                        "security_group_rules": 1}
    old = alpha.state.to_dict()
    old["iam"]["usage"] = {"alpha": {"instances": 0}}    # an older snapshot: no such counters
    loaded = ClusterState.from_dict(old)
    assert {k: v for k, v in loaded.iam["usage"]["alpha"].items() if k in quota.COUNTED} == expected
    assert dump(ClusterState.from_dict(loaded.to_dict())) == dump(loaded)   # stable


def test_live_tokens_per_principal_are_capped_and_dead_ones_pruned():
    replica = Replica()
    replica.apply("principal.create", {"id": "u-1", "name": "alice", "kind": "user"})

    def token(n, **kw):
        return {"id": f"t-{n}", "principal_id": "u-1", "hash": HASH, "max_live_tokens": 2, **kw}

    assert "token" in replica.apply("token.create", token(1))
    assert "token" in replica.apply("token.create", token(2, expires_ms=1_000_050))
    assert "at most 2" in replica.refused("token.create", token(3))
    # An expired token (by the proposer's clock in the command) no longer counts.
    assert "token" in replica.apply("token.create", token(3), ts=1_000_100)
    replica.apply("token.revoke", {"id": "t-1"}, ts=1_000_100)
    assert "token" in replica.apply("token.create", token(4), ts=1_000_100)
    # Revoked and expired records are kept for `token list`, but only so many.
    for n in range(5, 5 + 2 * iam.DEAD_TOKENS_KEPT):
        replica.apply("token.create", {**token(n), "max_live_tokens": 0}, ts=1_000_100)
        replica.apply("token.revoke", {"id": f"t-{n}"}, ts=1_000_100)
    held = [t for t in replica.state.iam["tokens"].values() if t["principal_id"] == "u-1"]
    assert len([t for t in held if t["revoked"] or t["expires_ms"]]) == iam.DEAD_TOKENS_KEPT
    assert {"t-3", "t-4"} <= {t["id"] for t in held}         # the live ones stay


# -- paginated lists ----------------------------------------------------------------

class InProcessStore:
    """The store's read side and a proposer that applies each command at once."""

    def __init__(self):
        self.replica = Replica()
        self.read_lock = threading.RLock()

    def read(self):
        return self.replica.state

    def propose(self, op, args, rid=None):
        return raise_for_result(self.replica.apply(op, args))


class Aborted(Exception):
    def __init__(self, code, details):
        super().__init__(f"{code.name}: {details}")
        self.code, self.details = code, details


class Context:
    def abort(self, code, details):
        raise Aborted(code, details)


@pytest.fixture
def store(tmp_path):
    store = InProcessStore()
    store.propose("project.create", {"id": "p-1", "name": "alpha"})
    for n in range(5):
        store.propose("principal.create", {"id": f"u-{n}", "name": f"user{n}", "kind": "user"})
        store.propose("binding.create", {"principal": f"user{n}", "role": "reader", "project": "alpha"})
        store.propose("token.create", {"id": f"t-{n}", "principal_id": "u-0", "hash": HASH})
        store.propose("role.create", {"name": f"custom{n}", "permissions": ["instance.get"]})
        store.propose("secret.create", secret(n))
    return store


def walk(method, request, field):
    """Every item, one page of two at a time; the number of pages."""
    items, pages = [], 0
    request.page_size = 2
    while True:
        reply = method(request, Context())
        items += list(getattr(reply, field))
        pages += 1
        if not reply.next_page_token:
            return items, pages
        request.page_token = reply.next_page_token


def lists(store, tmp_path):
    key = tmp_path / "cluster.key"
    key.write_text("a" * 64)
    principals = PrincipalsServicer(store, store)
    roles = RolesServicer(store, store)
    return [
        (principals.ListPrincipals, iam_pb2.ListPrincipalsRequest, "principals", 5),
        (TokensServicer(store, store).ListTokens, lambda: iam_pb2.ListTokensRequest(all=True), "tokens", 5),
        (roles.ListRoles, iam_pb2.ListRolesRequest, "roles", 4 + 5),
        (roles.ListBindings, lambda: iam_pb2.ListBindingsRequest(project="alpha"), "bindings", 5),
        (SecretsServicer(store, store, key).ListSecrets,
         lambda: secrets_pb2.ListSecretsRequest(project="alpha"), "secrets", 5),
    ]


def test_iam_lists_come_in_pages_that_add_up_to_everything(store, tmp_path):
    for method, request, field, total in lists(store, tmp_path):
        whole = list(getattr(method(request(), Context()), field))
        assert len(whole) == total, field                      # default page: all of these
        paged, pages = walk(method, request(), field)
        assert paged == whole and pages == (total + 1) // 2, field


def test_a_bad_page_token_or_size_is_invalid_argument_naming_the_field(store, tmp_path):
    for method, request, field, _ in lists(store, tmp_path):
        for bad, named in ((dict(page_token="not-a-token"), "page_token"),
                           (dict(page_token="-3"), "page_token"),
                           (dict(page_size=5000), "page_size"), (dict(page_size=-1), "page_size")):
            message = request()
            for key, value in bad.items():
                setattr(message, key, value)
            with pytest.raises(Aborted) as err:
                method(message, Context())
            assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and named in err.value.details, field


def test_the_tokens_service_sends_its_configured_cap(store):
    tokens = TokensServicer(store, store, max_per_principal=2)
    for _ in range(2):
        tokens.CreateToken(iam_pb2.CreateTokenRequest(principal="user1"), Context())
    before = dump(store.read())
    with pytest.raises(Aborted) as err:
        tokens.CreateToken(iam_pb2.CreateTokenRequest(principal="user1"), Context())
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "user1" in err.value.details
    assert dump(store.read()) == before
