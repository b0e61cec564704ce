"""This scheduler keeps its own certificate fresh.

Called once a second by the trust keeper (scheduler/ca_rotation.py), it renews
the certificate when less than a third of its validity is left, and at once in a
CA rotation's reissue phase while the certificate is not from the new CA. A
scheduler holding the CA key signs its own CSR (and records it like any renewal,
`certificate.renew`); one without the key asks a peer over the Node API with its
current certificate (Node.RenewCertificate). The new key is made here and never
leaves this host; the pair replaces the old one by renames (common/renewal.py),
and this scheduler's servers and channels use it from their next connection.
"""
from __future__ import annotations

import logging
import time
from typing import Callable

import grpc

from common.grpcserve import secure_channel
from common.renewal import check_interval, install, renewal_due
from common.tls import certificate_facts, issuer_fingerprint, make_csr
from proto.v1 import node_pb2, node_pb2_grpc

log = logging.getLogger(__name__)

PEER_TIMEOUT = 10.0
RETRY_AFTER = 5.0


def not_from_new_ca(rotation: dict, cert_pem: bytes) -> bool:
    """In a rotation's reissue phase, whether `cert_pem` is still from the old CA."""
    return rotation.get("phase") == "reissue" and \
        issuer_fingerprint(cert_pem, rotation["bundle"].encode()) != rotation["new_fp"]


class OwnCertificate:
    def __init__(self, name: str, tls, signer, proposer, peers: Callable[[], list[str]],
                 clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.tls = tls
        self.signer = signer
        self.proposer = proposer
        self.peers = peers            # public API addresses of the other members
        self.clock = clock
        self._next_look = self._retry_at = 0.0
        self._looked_at = b""

    def step(self, rotation: dict) -> str | None:
        """Renew if due; the new certificate's serial, or None."""
        now = self.clock()
        if now < self._retry_at:
            return None
        cert_pem = self.tls.cert.read_bytes()
        reissue = bool(rotation.get("bundle")) and not_from_new_ca(rotation, cert_pem)
        # A certificate put in place from outside (`cli.pki issue`) is looked at at once.
        if not reissue and now < self._next_look and cert_pem == self._looked_at:
            return None
        self._next_look, self._looked_at = now + check_interval(cert_pem), cert_pem
        if not reissue and not renewal_due(cert_pem):
            return None
        try:
            return self.renew(cert_pem, "the CA rotation's reissue phase" if reissue else "due")
        except Exception:
            self._retry_at = self.clock() + RETRY_AFTER
            raise

    def renew(self, cert_pem: bytes, why: str) -> str:
        current = certificate_facts(cert_pem)
        csr_pem, key_pem = make_csr(self.name, "scheduler")
        if self.signer.can_sign():
            cert = self.signer.renew(self.proposer, current, csr_pem)
        else:
            cert = self._at_peer(csr_pem)
        install(self.tls, cert, key_pem)
        serial = certificate_facts(cert).serial
        log.info("renewed this scheduler's certificate (%s): serial %s, was %s expiring %s", why, serial,
                 current.serial, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(current.not_after_ms / 1000)))
        return serial

    def _at_peer(self, csr_pem: bytes) -> bytes:
        """Signed by the first peer that holds the CA key."""
        failures = []
        for address in self.peers():
            try:
                with secure_channel(address, self.tls) as channel:
                    reply = node_pb2_grpc.NodeStub(channel).RenewCertificate(
                        node_pb2.RenewCertificateRequest(csr_pem=csr_pem), timeout=PEER_TIMEOUT)
                return reply.certificate_pem
            except grpc.RpcError as err:
                failures.append(f"{address}: {err.code().name} {err.details()}")
        raise RuntimeError("no scheduler renewed this one's certificate: " + ("; ".join(failures) or "no peers"))
