"""Enrollment: a host with a join token and no certificate gets one.

Served on its own port (`enroll_listen`) with server-only TLS, since the caller
has no certificate yet. The caller pins the CA by its fingerprint (printed by
`cloud cluster join-token`) before it sends anything, makes its own key, and
sends only a CSR; this scheduler checks the token (HMAC with the cluster secret,
not expired) and signs with the CA key for the role the token grants.
"""
from __future__ import annotations

import logging
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.x509.oid import NameOID

from common.errors import FailedPrecondition, InvalidArgument, Unauthenticated, rpc_errors
from common.ids import check_name
from common.tls import sign_csr, verify_join_token
from proto.v1 import operations_pb2, operations_pb2_grpc
from scheduler.state import records as r

log = logging.getLogger(__name__)

MAX_ADDRESSES = 16
MAX_CSR_BYTES = 16 * 1024


class EnrollmentServicer(operations_pb2_grpc.EnrollmentServicer):
    def __init__(self, store, tls, ca_key_file: Path, secret: str):
        self.store = store
        self.tls = tls
        self.ca_key_file = Path(ca_key_file)
        self.secret = secret

    @rpc_errors
    def Enroll(self, request, context):
        if not request.token:
            raise InvalidArgument("token", "is required")
        try:
            role = verify_join_token(self.secret.encode(), request.token)
        except (ValueError, KeyError) as err:
            raise Unauthenticated(f"join token refused: {err}") from None
        name = check_name(request.name, "name")
        if not request.csr_pem or len(request.csr_pem) > MAX_CSR_BYTES:
            raise InvalidArgument("csr_pem", "a PEM certificate signing request is required")
        try:
            csr = x509.load_pem_x509_csr(request.csr_pem)
            common_name = csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
        except (ValueError, IndexError):
            raise InvalidArgument("csr_pem", "is not a valid PEM certificate signing request") from None
        if common_name != name:
            raise InvalidArgument("csr_pem", f"its common name {common_name!r} is not {name!r}")
        addresses = list(request.addresses)
        if len(addresses) > MAX_ADDRESSES or any(not a or len(a) > 253 or " " in a for a in addresses):
            raise InvalidArgument("addresses", f"at most {MAX_ADDRESSES} IP addresses or DNS names")
        if role == "agent":
            self._check_not_live(name)
        if not self.ca_key_file.exists():
            raise FailedPrecondition("this scheduler holds no CA key and cannot sign; try another one")
        try:
            cert = sign_csr(self.tls.ca.read_bytes(), self.ca_key_file.read_bytes(), request.csr_pem,
                            role, addresses)
        except ValueError as err:
            raise InvalidArgument("csr_pem", str(err)) from None
        log.info("enrolled %s as %s (addresses %s) for %s", name, role, ", ".join(addresses) or "-",
                 context.peer())
        return operations_pb2.EnrollResponse(certificate_pem=cert, ca_pem=self.tls.ca.read_bytes(), role=role)

    def _check_not_live(self, name: str) -> None:
        # A token holder must not take over the identity of a host that is up.
        with self.store.read_lock:
            host = self.store.read().host_by_ref(name)
            live = host is not None and host.get("state") == r.HOST_UP
        if live:
            raise FailedPrecondition(f"host {name} is up; stop its agent before enrolling it again")


def enrollment_credentials(tls) -> grpc.ServerCredentials:
    """Server-only TLS that sends the CA with the certificate, so that a caller can
    find the CA in the handshake and check it against the pinned fingerprint."""
    ca, cert, key = tls.read()
    return grpc.ssl_server_credentials([(key, cert.rstrip(b"\n") + b"\n" + ca)], require_client_auth=False)
