"""Enrollment: a host with a join token and no certificate gets one.

Served on its own port (`enroll_listen`) with server-only TLS, since the caller
has no certificate yet. The caller pins the CA by its fingerprint (printed by
`cloud cluster join-token`) before it sends anything, makes its own key, and
sends only a CSR.

A join token is single-use and bound (scheduler/state/enrollment.py): it names
the one host (or scheduler) it enrolls, its role, and the addresses its
certificate may carry. This endpoint checks the token against the replicated
record, signs a certificate whose CN is the token's name and whose SANs are the
token's addresses (or, when the token names none, the address the caller
connects from) — never what the caller asks for — and then spends the token
through Raft: the use is atomic, so a second enrollment with it is refused
even on another scheduler. A name that is already a host (or member) is refused:
an existing host renews with its current certificate (Node.RenewCertificate),
or an admin removes it first.
"""
from __future__ import annotations

import logging

import grpc

from common.errors import InvalidArgument, PermissionDenied, rpc_errors
from common.grpcserve import ReloadingServerCertificate
from common.ids import check_name
from common.tls import join_secret_hash, join_secret_matches, parse_join_token
from proto.v1 import operations_pb2, operations_pb2_grpc
from scheduler.api.signing import csr_common_name
from scheduler.auth.ratelimit import source_of
from scheduler.proposer import now_ms
from scheduler.state import enrollment

log = logging.getLogger(__name__)

MAX_ADDRESSES = 16


def certificate_sans(token: dict, peer_address: str) -> list[str]:
    """The SANs a token's certificate gets (its CN, the token's name, is added by sign_csr)."""
    return list(token["addresses"]) or ([peer_address] if peer_address else [])


class EnrollmentServicer(operations_pb2_grpc.EnrollmentServicer):
    def __init__(self, store, proposer, signer):
        self.store = store
        self.proposer = proposer
        self.signer = signer

    @rpc_errors
    def Enroll(self, request, context):
        if not request.token:
            raise InvalidArgument("token", "is required")
        name = check_name(request.name, "name")
        if csr_common_name(request.csr_pem) != name:
            raise InvalidArgument("csr_pem", f"its common name is not {name!r}")
        addresses = list(request.addresses)
        if len(addresses) > MAX_ADDRESSES or any(not a or len(a) > 253 or " " in a for a in addresses):
            raise InvalidArgument("addresses", f"at most {MAX_ADDRESSES} IP addresses or DNS names")
        parsed = parse_join_token(request.token)
        with self.store.read_lock:
            state = self.store.read()
            record = state.join_tokens.get(parsed[0]) if parsed else None
            if record is not None and not join_secret_matches(record["secret_hash"], parsed[1]):
                record = None
            token = dict(enrollment.check_token(state, record, name, now_ms()))
        peer = source_of(context.peer())
        sans = certificate_sans(token, peer)
        refused = [a for a in addresses if a not in sans and a != name]
        if refused:
            raise PermissionDenied(f"addresses: {', '.join(refused)} not allowed by this join token "
                                   f"(it allows {', '.join(sans + [name])}); "
                                   f"ask for a token with --address")
        cert, facts = self.signer.sign(request.csr_pem, token["role"], sans)
        # Spent atomically by apply: a concurrent second use fails there, and its
        # certificate is never returned.
        self.proposer.propose("join_token.use", {
            "token_id": token["id"], "secret_hash": join_secret_hash(parsed[1]), "name": name,
            "serial": facts.serial, "not_after_ms": facts.not_after_ms, "used_by": peer,
            "ca": self.signer.ca_of(cert)})
        log.info("enrolled %s as %s (SANs %s, serial %s) for %s", name, token["role"],
                 ", ".join(sans) or "-", facts.serial, context.peer())
        return operations_pb2.EnrollResponse(certificate_pem=cert, ca_pem=self.signer.ca_pem(),
                                             role=token["role"])


def enrollment_credentials(tls) -> grpc.ServerCredentials:
    """Server-only TLS that sends the CA with the certificate, so that a caller can
    find the CA in the handshake and check it against the pinned fingerprint. Read
    again when the files change (a CA rotation's bundle, a re-issued certificate)."""
    source = ReloadingServerCertificate(tls)

    def configuration():
        ca, cert, key = tls.read()
        return grpc.ssl_server_certificate_configuration([(key, cert.rstrip(b"\n") + b"\n" + ca)])

    source.configuration = configuration
    initial = configuration()
    source.fetch()
    return grpc.dynamic_ssl_server_credentials(initial, source.fetch, require_client_authentication=False)
