"""Who may do what, over the wire: the matrix over every public RPC, projects with the
same names, cross-project ids, expired and revoked tokens, revocation on every node."""
import time

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import iam_pb2, public_pb2, resources_pb2 as pb, secrets_pb2
from scheduler.auth.permissions import (AGENT, BUILTIN_ROLES, CLUSTER, PROJECT, PUBLIC, READ_VERBS,
                                        grants, rule_for)
from iam_harness import make_project, make_user, raw_channel, token_client
from iam_requests import aimed_at, invoke, public_methods

MiB = 1024**2
AUTH_CODES = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


def spec():
    return pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB,
                           command=["sleep", "600"])


@pytest.fixture(scope="module")
def world(cluster):
    """Projects alpha and beta holding the same names, and callers of every kind."""
    for project in ("alpha", "beta"):
        make_project(cluster, project)
        cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="web", project=project, spec=spec()))
        cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
            name="db", project=project, value=f"{project}-password".encode()))
    callers = {
        "reader": make_user(cluster, "rita", "reader", "alpha"),
        "alpha-member": make_user(cluster, "alan", "member", "alpha"),
        "other-member": make_user(cluster, "bob", "member", "beta"),
        "expired": make_user(cluster, "eve", "member", "alpha", ttl=1),
        "revoked": make_user(cluster, "rob", "member", "alpha"),
        "bad": "tc1.t-0123456789abcdef." + "A" * 43,
        "no-token": None,
    }
    revoked_id = callers["revoked"].split(".")[1]
    cluster.call("Tokens", "RevokeToken", iam_pb2.RevokeTokenRequest(id=revoked_id))
    time.sleep(1.1)   # the expired token's second is over
    return callers


def fingerprint(cluster):
    """What the matrix must leave unchanged, read as the admin."""
    parts = []
    for project in ("default", "alpha", "beta"):
        listed = cluster.call("Instances", "ListInstances", public_pb2.ListInstancesRequest(project=project))
        # Not the revision: the reconciler records the instances' progress meanwhile.
        parts.append(sorted((i.meta.id, i.meta.name, str(i.meta.labels), i.desired_state)
                            for i in listed.instances))
        secrets = cluster.call("Secrets", "ListSecrets", secrets_pb2.ListSecretsRequest(project=project))
        parts.append(sorted((s.id, s.revision) for s in secrets.secrets))
        parts.append(str(cluster.call("Quotas", "GetQuota", iam_pb2.GetQuotaRequest(project=project))))
    parts.append(sorted(p.id for p in cluster.call("Projects", "ListProjects",
                                                   iam_pb2.ListProjectsRequest()).projects))
    parts.append(sorted(p.id for p in cluster.call("Principals", "ListPrincipals",
                                                   iam_pb2.ListPrincipalsRequest()).principals))
    parts.append(sorted((t.id, t.revoked) for t in cluster.call("Tokens", "ListTokens",
                                                                iam_pb2.ListTokensRequest(all=True)).tokens))
    parts.append(str(cluster.call("Roles", "ListRoles", iam_pb2.ListRolesRequest())))
    parts.append(str(cluster.call("Roles", "ListBindings", iam_pb2.ListBindingsRequest(project="alpha"))))
    hosts = cluster.call("Hosts", "ListHosts", public_pb2.ListHostsRequest()).hosts
    parts.append(sorted((h.meta.id, h.state) for h in hosts))
    return parts


def expected(caller: str, full_method: str, request):
    """The status `caller` must get, or None when any non-auth answer will do."""
    rule = rule_for(full_method)
    scope, permission = rule.scope, rule.permission
    if rule.resolve is not None:
        permission, scope, _ = rule.resolve(request)
    mutating = permission.rpartition(".")[2] not in READ_VERBS
    if scope == PUBLIC:
        return None
    if caller in ("bad", "expired", "revoked", "no-token"):
        return grpc.StatusCode.UNAUTHENTICATED
    if scope in (AGENT, CLUSTER):
        return grpc.StatusCode.PERMISSION_DENIED
    if scope == PROJECT and caller == "other-member":
        return grpc.StatusCode.NOT_FOUND
    if scope == PROJECT and caller == "reader" and not grants(BUILTIN_ROLES["reader"]["permissions"],
                                                             permission):
        assert mutating or permission in ("instance.logs", "secret.read", "instance.explain",
                                          "audit.read"), permission
        return grpc.StatusCode.PERMISSION_DENIED
    return None


def test_every_public_rpc_refuses_who_it_must_and_changes_nothing(cluster, world):
    before = fingerprint(cluster)
    endpoint = cluster.aio.endpoints[0]
    failures, checked = [], 0
    with raw_channel(cluster, endpoint) as channel:
        for full_method, method in public_methods():
            request = aimed_at(method, "alpha")
            for caller in ("no-token", "bad", "expired", "revoked", "reader", "other-member"):
                token = world[caller]
                metadata = (("authorization", f"Bearer {token}"),) if token else ()
                code = invoke(channel, full_method, method, request, metadata, timeout=3.0)
                if code == grpc.StatusCode.UNIMPLEMENTED:
                    break   # a service this build does not serve
                want = expected(caller, full_method, request)
                checked += 1
                if want is not None and code != want:
                    failures.append(f"{caller} {full_method}: {code.name}, wanted {want.name}")
                if want is None and code in AUTH_CODES:
                    failures.append(f"{caller} {full_method}: refused with {code.name}")
    assert not failures, "\n".join(failures)
    assert checked > 100
    assert fingerprint(cluster) == before


def test_named_cases_of_the_matrix(cluster, world):
    reader = token_client(cluster, world["reader"])
    with pytest.raises(RpcFailure) as err:
        reader.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="nope", project="alpha", spec=spec()))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(RpcFailure) as err:
        reader.call("Secrets", "GetSecretValue", secrets_pb2.GetSecretValueRequest(name="db", project="alpha"))
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert [s.name for s in reader.call("Secrets", "ListSecrets",
                                        secrets_pb2.ListSecretsRequest(project="alpha")).secrets] == ["db"]
    with pytest.raises(RpcFailure) as err:
        reader.call("Hosts", "ListHosts", public_pb2.ListHostsRequest())
    assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    visible = reader.call("Projects", "ListProjects", iam_pb2.ListProjectsRequest()).projects
    assert [p.name for p in visible] == ["alpha"]


def test_same_names_in_two_projects_and_cross_project_ids_are_not_found(cluster, world):
    alpha_member = token_client(cluster, world["alpha-member"])
    beta_member = token_client(cluster, world["other-member"])
    alpha_web = alpha_member.call("Instances", "GetInstance",
                                  public_pb2.GetInstanceRequest(name="web", project="alpha"))
    beta_web = beta_member.call("Instances", "GetInstance",
                                public_pb2.GetInstanceRequest(name="web", project="beta"))
    assert alpha_web.meta.id != beta_web.meta.id and alpha_web.meta.project == "alpha"
    # beta's id, asked for in alpha by alpha's member: not found, not forbidden.
    for project in ("alpha", "beta"):
        with pytest.raises(RpcFailure) as err:
            alpha_member.call("Instances", "GetInstance",
                              public_pb2.GetInstanceRequest(name=beta_web.meta.id, project=project))
        assert err.value.code == grpc.StatusCode.NOT_FOUND
        with pytest.raises(RpcFailure) as err:
            alpha_member.call("Instances", "DeleteInstance",
                              public_pb2.DeleteInstanceRequest(name=beta_web.meta.id, project=project))
        assert err.value.code == grpc.StatusCode.NOT_FOUND
    listed = alpha_member.call("Instances", "ListInstances", public_pb2.ListInstancesRequest(project="alpha"))
    assert [i.meta.id for i in listed.instances] == [alpha_web.meta.id]
    # Secrets with one name in two projects hold their own values.
    admin = cluster
    for project in ("alpha", "beta"):
        value = admin.call("Secrets", "GetSecretValue",
                           secrets_pb2.GetSecretValueRequest(name="db", project=project)).value
        assert value == f"{project}-password".encode()


def test_revoking_on_one_node_rejects_on_the_others_at_once(cluster):
    token = make_user(cluster, "carol", "reader", "alpha")
    endpoints = cluster.aio.endpoints
    pinned = [token_client(cluster, token, [endpoint]) for endpoint in endpoints]
    for client in pinned:
        client.call("Tokens", "WhoAmI", iam_pb2.WhoAmIRequest())
    owner = token_client(cluster, token, [endpoints[1]])
    owner.call("Tokens", "RevokeToken", iam_pb2.RevokeTokenRequest(id=token.split(".")[1]))
    for client in pinned:   # no waiting, no retry
        with pytest.raises(RpcFailure) as err:
            client.call("Tokens", "WhoAmI", iam_pb2.WhoAmIRequest())
        assert err.value.code == grpc.StatusCode.UNAUTHENTICATED


def test_login_failures_do_not_say_why(cluster, world):
    messages = set()
    for caller in ("bad", "expired", "revoked"):
        with pytest.raises(RpcFailure) as err:
            token_client(cluster, world[caller]).call("Tokens", "WhoAmI", iam_pb2.WhoAmIRequest())
        messages.add(err.value.message)
    assert len(messages) == 1
