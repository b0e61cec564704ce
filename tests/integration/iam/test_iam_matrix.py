"""The authorization matrix: every method of every service, found from the proto
descriptors, on the server that serves it (the schedulers' API, their Node API
server, the agent, the enrollment endpoint), called by every kind of caller — no TLS, a foreign CA, no
client certificate, the agent's, the admin's and a scheduler's certificates, and
tokens of a reader, a member and a project admin of project alpha, of a member of
beta, an expired and a revoked token — gets the status the rules say, and changes
nothing. No call ever answers INTERNAL or UNKNOWN."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from common.tls import TlsFiles, create_ca, make_csr, sign_csr
from proto.v1 import iam_pb2, public_pb2, resources_pb2 as pb, secrets_pb2
from scheduler.auth.permissions import (AGENT, BUILTIN_ROLES, CLUSTER, NODE, PROJECT, PUBLIC,
                                        grants, rule_for)
from iam_harness import client_tls, fingerprint, make_project, make_user
from iam_requests import aimed_at, all_methods, invoke

MiB = 1024**2
AUTH_CODES = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
NEVER = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
ANY = "any answer but a refusal of the caller"
REFUSED = "refused: UNAUTHENTICATED, PERMISSION_DENIED or INVALID_ARGUMENT"
TRANSPORT = ("plaintext", "foreign-ca", "no-cert")
CERTS = ("agent-cert", "admin-cert", "scheduler-cert")
TOKENS = ("reader-a", "member-a", "admin-a", "member-b", "expired", "revoked")
CALLERS = TRANSPORT + CERTS + TOKENS

# Which server serves which services.
AGENT_SERVICES = ("thecloud.v1.Agent", "thecloud.v1.AgentMachines", "thecloud.v1.AgentVolumes",
                  "thecloud.v1.AgentNetwork")
ENROLLMENT_SERVICES = ("thecloud.v1.Enrollment",)
NODE_SERVICES = ("thecloud.v1.Node",)
# Membership, backup, restore and join tokens: the admin's certificate only, not a peer's.
OPERATIONS = "/thecloud.v1.Operations/"


def spec():
    return pb.InstanceSpec(image="thecloud/busybox:test", vcpus=1, memory_bytes=16 * MiB,
                           command=["sleep", "600"])


@dataclass
class Callers:
    tokens: dict
    home: Path
    foreign: TlsFiles


@pytest.fixture(scope="module")
def callers(cluster, tmp_path_factory):
    for project in ("alpha", "beta"):
        make_project(cluster, project)
        cluster.call("Instances", "CreateInstance", public_pb2.CreateInstanceRequest(
            name="web", project=project, spec=spec()))
        cluster.call("Secrets", "CreateSecret", secrets_pb2.CreateSecretRequest(
            name="db", project=project, value=f"{project}-password".encode()))
    tokens = {
        "reader-a": make_user(cluster, "m-rita", "reader", "alpha"),
        "member-a": make_user(cluster, "m-alan", "member", "alpha"),
        "admin-a": make_user(cluster, "m-ada", "project-admin", "alpha"),
        "member-b": make_user(cluster, "m-bob", "member", "beta"),
        "expired": make_user(cluster, "m-eve", "member", "alpha", ttl=1),
        "revoked": make_user(cluster, "m-rob", "member", "alpha"),
    }
    cluster.call("Tokens", "RevokeToken", iam_pb2.RevokeTokenRequest(id=tokens["revoked"].split(".")[1]))
    # A certificate of role admin from a CA that is not the cluster's.
    foreign_dir = tmp_path_factory.mktemp("foreign-ca")
    ca_cert, ca_key = create_ca("elsewhere")
    csr, key = make_csr("intruder", "admin")
    foreign = TlsFiles.in_dir(foreign_dir, "intruder")
    foreign.cert.write_bytes(sign_csr(ca_cert, ca_key, csr, "admin", ["127.0.0.1"]))
    foreign.key.write_bytes(key)
    foreign.ca.write_bytes(ca_cert)
    time.sleep(1.1)   # the expired token's second is over
    return Callers(tokens, cluster.home, foreign)


def _read(path: Path) -> bytes:
    return Path(path).read_bytes()


def channel_for(cluster, who: Callers, caller: str, address: str) -> grpc.Channel:
    ca = _read(cluster.aio.admin_tls.ca)
    if caller == "plaintext":
        return grpc.insecure_channel(address)
    if caller == "no-cert":
        return grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=ca))
    if caller == "foreign-ca":
        tls = who.foreign
    elif caller == "agent-cert":
        tls = TlsFiles.in_dir(cluster.aio.tls_dir, cluster.aio.agent_name)
    elif caller == "admin-cert":
        tls = cluster.aio.admin_tls
    elif caller == "scheduler-cert":
        tls = TlsFiles.in_dir(cluster.aio.tls_dir, cluster.aio.schedulers[0].name)
    else:
        tls = client_tls(cluster)
    credentials = grpc.ssl_channel_credentials(root_certificates=ca, private_key=_read(tls.key),
                                               certificate_chain=_read(tls.cert))
    return grpc.secure_channel(address, credentials)


def _token_expectation(caller: str, scope: str, permission: str):
    if caller in ("expired", "revoked"):
        return grpc.StatusCode.UNAUTHENTICATED
    if scope in (AGENT, NODE, CLUSTER):
        return grpc.StatusCode.PERMISSION_DENIED
    if scope != PROJECT:
        return ANY                      # SELF: the servicer narrows to the caller's own
    if caller == "member-b":
        return grpc.StatusCode.NOT_FOUND
    role = {"reader-a": "reader", "member-a": "member", "admin-a": "project-admin"}[caller]
    if grants(BUILTIN_ROLES[role]["permissions"], permission):
        return ANY
    return grpc.StatusCode.PERMISSION_DENIED


def scheduler_expectation(caller: str, full_method: str, request):
    """The status `caller` must get from a scheduler for `full_method` (or ANY)."""
    if caller in TRANSPORT:
        return grpc.StatusCode.UNAVAILABLE
    rule = rule_for(full_method)
    scope, permission = rule.scope, rule.permission
    if rule.resolve is not None:
        permission, scope, _ = rule.resolve(request)
    if scope == PUBLIC:
        return ANY
    if caller == "agent-cert":
        return ANY if scope in (AGENT, NODE) else grpc.StatusCode.PERMISSION_DENIED
    if caller == "scheduler-cert" and scope == NODE:
        return ANY                      # a scheduler renews its own certificate at a peer
    if caller in ("admin-cert", "scheduler-cert"):
        if scope in (AGENT, NODE) or (caller == "scheduler-cert" and full_method.startswith(OPERATIONS)):
            return grpc.StatusCode.PERMISSION_DENIED
        return ANY
    return _token_expectation(caller, scope, permission)


def agent_expectation(caller: str, full_method: str, request):
    """Agents obey schedulers only."""
    if caller in TRANSPORT:
        return grpc.StatusCode.UNAVAILABLE
    return ANY if caller == "scheduler-cert" else grpc.StatusCode.PERMISSION_DENIED


def enrollment_expectation(caller: str, full_method: str, request):
    """Server-only TLS: anyone may ask, nobody without a valid join token gets anything."""
    if caller == "plaintext":
        return grpc.StatusCode.UNAVAILABLE
    return REFUSED


def check(code, want) -> bool:
    if code in NEVER:
        return False
    if want is ANY:
        return code not in AUTH_CODES and code != grpc.StatusCode.UNAVAILABLE
    if want is REFUSED:
        return code in (*AUTH_CODES, grpc.StatusCode.INVALID_ARGUMENT)
    return code == want


def servers(cluster):
    """(name, address, services, expectation) of every server a cluster runs."""
    aio = cluster.aio
    return [
        ("scheduler", aio.endpoints[0], None, scheduler_expectation),
        # The Node API's own server: only what agents call is there, under the same rules.
        ("node", aio.node_address(aio.schedulers[0].name), NODE_SERVICES, scheduler_expectation),
        ("agent", aio.agent.api, AGENT_SERVICES, agent_expectation),
        ("enrollment", aio.enroll_address(aio.schedulers[0].name), ENROLLMENT_SERVICES,
         enrollment_expectation),
    ]


def run_matrix(cluster, callers: Callers, who: tuple[str, ...]) -> tuple[list[str], int]:
    """Every method on its server for each caller in `who`: (wrong answers, calls checked)."""
    failures, checked = [], 0
    served_elsewhere = set(AGENT_SERVICES) | set(ENROLLMENT_SERVICES)
    for server, address, services, expectation in servers(cluster):
        methods = [(name, method) for name, method in all_methods()
                   if (method.containing_service.full_name in services if services
                       else method.containing_service.full_name not in served_elsewhere)]
        for caller in who:
            channel = channel_for(cluster, callers, caller, address)
            token = callers.tokens.get(caller)
            metadata = (("authorization", f"Bearer {token}"),) if token else ()
            try:
                for full_method, method in methods:
                    request = aimed_at(method, "alpha")
                    code = invoke(channel, full_method, method, request, metadata, timeout=5.0)
                    if code == grpc.StatusCode.UNIMPLEMENTED and caller == "scheduler-cert":
                        continue    # a service this agent does not serve (no volume driver, say)
                    want = expectation(caller, full_method, request)
                    checked += 1
                    if not check(code, want):
                        wanted = want if isinstance(want, str) else want.name
                        failures.append(f"{server} {caller} {full_method}: {code.name}, wanted {wanted}")
            finally:
                channel.close()
    return failures, checked


def test_every_rpc_of_every_service_answers_every_caller_as_it_must(cluster, callers):
    # Callers who may change nothing first, with the state compared around them; then
    # the admin's and a scheduler's certificates, which may (a create of "nothing-here").
    before = fingerprint(cluster)
    failures, checked = run_matrix(cluster, callers, TRANSPORT + ("agent-cert",) + TOKENS)
    assert fingerprint(cluster) == before, "a refused caller changed the state"
    more, counted = run_matrix(cluster, callers, ("admin-cert", "scheduler-cert"))
    failures, checked = failures + more, checked + counted
    assert not failures, f"{len(failures)} of {checked} calls answered wrongly:\n" + "\n".join(failures)
    assert checked > 1000
