"""Who may do what, over the wire: named cases of the matrix (test_iam_matrix.py has
all of it), projects with the same names, cross-project ids, expired and revoked
tokens, revocation on every node."""
import time

import grpc
import pytest

from cli.errors import RpcFailure
from proto.v1 import iam_pb2, public_pb2, resources_pb2 as pb, secrets_pb2
from iam_harness import make_project, make_user, token_client

MiB = 1024**2


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
