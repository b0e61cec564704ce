"""Renewing a node's or an admin's own certificate: when it is due, and how the new
pair and the cluster's trust bundle replace the old files.

Agents (agent/renewal.py), schedulers (scheduler/own_certificate.py) and the
`cloud` CLI (cli/own_certificate.py) renew the same way: a new key made where it
is used, a CSR signed by a scheduler holding the CA key (same name, role and
addresses as the current certificate), the key and certificate each written to a
temporary file and renamed over the old one, the certificate last. Servers pick
up the new pair at their next handshake (common/grpcserve.py).
"""
from __future__ import annotations

import logging
import time

from cryptography import x509

from common.tls import TlsFiles, certificate_facts, issued_by_bundle, write_atomic

log = logging.getLogger(__name__)

RENEW_WHEN_LEFT = 1 / 3
MAX_CHECK_INTERVAL = 600.0


def renewal_due(cert_pem: bytes, now: float | None = None) -> bool:
    """Whether less than a third of the certificate's validity is left."""
    facts = certificate_facts(cert_pem)
    now_ms = (time.time() if now is None else now) * 1000
    lifetime = facts.not_after_ms - facts.not_before_ms
    return facts.not_after_ms - now_ms < lifetime * RENEW_WHEN_LEFT


def check_interval(cert_pem: bytes) -> float:
    """How often to look: a twentieth of the lifetime, between 5 s and 10 min."""
    facts = certificate_facts(cert_pem)
    return min(MAX_CHECK_INTERVAL, max(5.0, (facts.not_after_ms - facts.not_before_ms) / 1000 / 20))


def install(files: TlsFiles, cert_pem: bytes, key_pem: bytes) -> None:
    """Replace the key and certificate, each by a rename (the certificate last)."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    if not issued_by_bundle(cert, files.ca.read_bytes()):
        raise ValueError("the renewed certificate is not from a CA this host trusts")
    write_atomic(files.key, key_pem, 0o600)
    write_atomic(files.cert, cert_pem, 0o644)


def adopt_bundle(files: TlsFiles, bundle_pem: bytes) -> bool:
    """Write the cluster's trust bundle (a CA rotation, `cloud cluster rotate-ca`) as
    this node's ca.crt, by a rename; whether it changed. A bundle that shares no CA
    with the current one is refused: a rotation adds the new CA before it drops the old."""
    current = files.ca.read_bytes()
    if bundle_pem == current:
        return False
    offered = x509.load_pem_x509_certificates(bundle_pem)
    if not set(offered) & set(x509.load_pem_x509_certificates(current)):
        raise ValueError("the offered trust bundle shares no CA with this node's")
    write_atomic(files.ca, bundle_pem)
    log.info("wrote the cluster's trust bundle (%d CA certificates) to %s", len(offered), files.ca)
    return True
