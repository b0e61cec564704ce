"""Clients of an IAM-enabled all-in-one cluster: the admin, and callers with tokens."""
from __future__ import annotations

import sys
from pathlib import Path

import grpc

from cli.client import ClusterClient, RetryPolicy
from common.grpcserve import channel_credentials
from common.tls import TlsFiles, issue
from proto.v1 import iam_pb2, public_pb2, secrets_pb2

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))
from cluster_harness import Cluster, running_cluster  # noqa: E402,F401

# The matrix makes hundreds of failed logins from 127.0.0.1 on purpose.
SCHEDULER_OVERRIDES = {"auth_failure_burst": 1_000_000, "auth_failures_per_minute": 1_000_000.0}
NO_RETRY = RetryPolicy(call_timeout=10.0, budget=0.0)


def client_tls(cluster: Cluster, name: str = "user") -> TlsFiles:
    """A certificate of role "client": TLS only, no identity of its own."""
    files = TlsFiles.in_dir(cluster.home / "tls", name)
    if not files.exists():
        issue(cluster.home / "ca", cluster.home / "tls", name, "client", ["127.0.0.1"])
    return files


def token_client(cluster: Cluster, token: str | None, endpoints=None) -> ClusterClient:
    return ClusterClient(endpoints or cluster.aio.endpoints, client_tls(cluster), token=token or "",
                         read_policy=NO_RETRY, write_policy=NO_RETRY)


def raw_channel(cluster: Cluster, endpoint: str) -> grpc.Channel:
    return grpc.secure_channel(endpoint, channel_credentials(client_tls(cluster)))


def make_user(cluster: Cluster, name: str, role: str | None = None, project: str | None = None,
              ttl: int = 0, kind: str = "user") -> str:
    """A principal, optionally bound to `role` in `project`, and a token for it."""
    cluster.call("Principals", "CreatePrincipal", iam_pb2.CreatePrincipalRequest(
        name=name, kind=kind, project=project if kind == "service-account" else ""))
    if role:
        cluster.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
            binding=iam_pb2.RoleBinding(principal=name, role=role, project=project or "")))
    reply = cluster.call("Tokens", "CreateToken", iam_pb2.CreateTokenRequest(principal=name,
                                                                             ttl_seconds=ttl))
    return reply.secret


def make_project(cluster: Cluster, name: str) -> None:
    cluster.call("Projects", "CreateProject", iam_pb2.CreateProjectRequest(name=name))


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
