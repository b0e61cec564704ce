"""The decision table, identities, token format, rate limiting and the secret box."""
import pytest

from common.errors import FailedPrecondition, NotFound, PermissionDenied
from proto.v1 import iam_pb2, public_pb2
from scheduler.auth import tokens
from scheduler.auth.identity import TOKEN, Identity
from scheduler.auth.interceptor import request_project
from scheduler.auth.permissions import ADMIN_ONLY, BUILTIN_ROLES, CLUSTER, PROJECT, grants, rule_for
from scheduler.auth.policy import decide
from scheduler.auth.ratelimit import FailureLimiter, source_of
from scheduler.secrets.box import SecretBox

ROLES = {name: tuple(r["permissions"]) for name, r in BUILTIN_ROLES.items()}


def user(*bindings, **kw):
    return Identity(name="u", kind="user", via=TOKEN, principal_id="u-1", bindings=tuple(bindings),
                    role_permissions=ROLES, superuser=("admin", "") in bindings, **kw)


def test_unknown_methods_are_admin_only_and_known_ones_have_their_scope():
    assert rule_for("/thecloud.v1.Volumes/AttachVolumeSomeday") is ADMIN_ONLY
    assert rule_for("/thecloud.v1.Hosts/ListHosts").scope == CLUSTER
    rule = rule_for("/thecloud.v1.Instances/CreateInstance")
    assert (rule.permission, rule.scope, rule.mutating) == ("instance.create", PROJECT, True)
    assert not rule_for("/thecloud.v1.Instances/ListInstances").mutating


def test_roles_in_a_project():
    reader, member = user(("reader", "alpha")), user(("member", "alpha"))
    assert decide(reader, "instance.get", "alpha") is None
    assert isinstance(decide(reader, "instance.create", "alpha"), PermissionDenied)
    assert decide(member, "instance.create", "alpha") is None
    assert isinstance(decide(member, "secret.read", "alpha"), PermissionDenied)
    assert decide(user(("project-admin", "alpha")), "secret.read", "alpha") is None
    # An outsider learns nothing: NOT_FOUND, whatever the permission.
    assert isinstance(decide(member, "instance.get", "beta"), NotFound)
    # Host and cluster operations need a cluster-wide binding.
    assert isinstance(decide(user(("project-admin", "alpha")), "host.list", ""), PermissionDenied)
    assert decide(user(("admin", "")), "host.drain", "") is None


def test_custom_cluster_role_and_scoped_tokens():
    ops = Identity(name="ops", kind="user", via=TOKEN, bindings=(("drainer", ""),),
                   role_permissions={"drainer": ("host.drain", "host.get")})
    assert decide(ops, "host.drain", "") is None
    assert isinstance(decide(ops, "host.delete", ""), PermissionDenied)
    scoped = user(("admin", ""), scope_project="alpha", scope_permissions=ROLES["reader"])
    assert decide(scoped, "instance.list", "alpha") is None
    assert isinstance(decide(scoped, "instance.create", "alpha"), PermissionDenied)
    assert isinstance(decide(scoped, "instance.list", "beta"), NotFound)
    assert isinstance(decide(scoped, "host.list", ""), PermissionDenied)


def test_wildcards():
    assert grants(["instance.*"], "instance.create") and grants(["*.get"], "volume.get")
    assert not grants(["*.get"], "secret.read") and grants(["*"], "anything.at-all")


def test_the_project_a_request_names():
    assert request_project(public_pb2.ListInstancesRequest()) == "default"
    assert request_project(public_pb2.ListInstancesRequest(project="alpha")) == "alpha"
    update = public_pb2.UpdateInstanceRequest()
    update.instance.meta.project = "beta"
    assert request_project(update) == "beta"
    assert request_project(iam_pb2.GetProjectRequest(name="gamma"), "name") == "gamma"


def test_token_format_and_hash():
    token_id, bearer, digest = tokens.new_token()
    parsed = tokens.parse(bearer)
    assert parsed[0] == token_id and tokens.matches({"hash": digest}, parsed[1])
    other = "B" if parsed[1].endswith("A") else "A"   # a secret one character off
    assert not tokens.matches({"hash": digest}, parsed[1][:-1] + other)
    assert tokens.parse("tc1.t-zz.abc") is None and tokens.parse("") is None


def test_failures_are_rate_limited_per_source():
    now = [0.0]
    limiter = FailureLimiter(burst=3, per_minute=60, clock=lambda: now[0])
    for _ in range(3):
        assert not limiter.blocked("10.0.0.1")
        limiter.failed("10.0.0.1")
    assert limiter.blocked("10.0.0.1") and not limiter.blocked("10.0.0.2")
    now[0] += 1.0     # one failure earned back per second
    assert not limiter.blocked("10.0.0.1")
    assert source_of("ipv4:127.0.0.1:5555") == "127.0.0.1"
    assert source_of("ipv6:[::1]:5555") == "::1"


def test_secret_box_binds_values_to_their_place_and_key():
    box = SecretBox(b"cluster-secret-one-0123456789")
    sealed = box.seal("alpha", "db", b"hunter2")
    record = {"project": "alpha", "name": "db", **sealed}
    assert box.open(record) == b"hunter2" and b"hunter2" not in repr(sealed).encode()
    with pytest.raises(FailedPrecondition):
        box.open({**record, "name": "other"})
    with pytest.raises(FailedPrecondition):
        SecretBox(b"another-cluster-secret-9876543210").open(record)
