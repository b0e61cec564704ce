"""What authentication costs per call, and how fast a revocation holds everywhere.

    .venv/bin/python bench/iam_auth_latency.py [--calls 500]

Measures, against a throw-away all-in-one cluster: a read (`Instances.ListInstances`
of an empty project) with the admin certificate vs with a bearer token (hash check,
role lookup, project check in the interceptor); `Tokens.RevokeToken` latency (Raft
commit + waiting for every scheduler to apply it); `CreateToken` likewise.
"""
from __future__ import annotations

import argparse
import time

from _cluster import allinone, client_for, summary_ms, write

from cli.client import ClusterClient, RetryPolicy
from common.tls import TlsFiles, issue
from proto.v1 import iam_pb2, public_pb2


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--tokens", type=int, default=50)
    args = parser.parse_args()
    with allinone() as (aio, home):
        admin = client_for(aio, home)
        admin.call("Projects", "CreateProject", iam_pb2.CreateProjectRequest(name="bench"))
        admin.call("Principals", "CreatePrincipal", iam_pb2.CreatePrincipalRequest(name="bencher"))
        admin.call("Roles", "BindRole", iam_pb2.BindRoleRequest(
            binding=iam_pb2.RoleBinding(principal="bencher", role="member", project="bench")))
        token = admin.call("Tokens", "CreateToken",
                           iam_pb2.CreateTokenRequest(principal="bencher")).secret
        issue(home / "ca", home / "tls", "bench-user", "client", ["127.0.0.1"])
        policy = RetryPolicy(call_timeout=5.0, budget=0.0)
        pinned = [aio.endpoints[0]]
        user = ClusterClient(pinned, TlsFiles.in_dir(home / "tls", "bench-user"), token=token,
                             read_policy=policy, write_policy=policy)
        admin_pinned = ClusterClient(pinned, TlsFiles.in_dir(home / "tls", "admin"),
                                     read_policy=policy, write_policy=policy)
        request = public_pb2.ListInstancesRequest(project="bench")
        for client in (user, admin_pinned):     # warm the channels
            client.call("Instances", "ListInstances", request)
        cert = timed(lambda: admin_pinned.call("Instances", "ListInstances", request), args.calls)
        bearer = timed(lambda: user.call("Instances", "ListInstances", request), args.calls)
        created: list[str] = []
        new_token = iam_pb2.CreateTokenRequest(principal="bencher")
        create = timed(lambda: created.append(
            admin_pinned.call("Tokens", "CreateToken", new_token).token.id), args.tokens)
        revoke: list[float] = []
        for token_id in created:
            start = time.perf_counter()
            admin_pinned.call("Tokens", "RevokeToken", iam_pb2.RevokeTokenRequest(id=token_id))
            revoke.append(time.perf_counter() - start)
        write("iam_auth_latency", {
            "read_with_admin_certificate": summary_ms(cert),
            "read_with_bearer_token": summary_ms(bearer),
            "create_token_applied_on_all_schedulers": summary_ms(create),
            "revoke_token_applied_on_all_schedulers": summary_ms(revoke),
        })


if __name__ == "__main__":
    main()
