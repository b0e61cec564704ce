"""Renewing this host's certificate before it expires.

Certificates are short-lived (the schedulers' `certificate_lifetime`, 30 days by
default). When less than a third of its validity is left, the agent makes a new
key here, asks a scheduler to sign it over the Node API with the current
certificate (Node.RenewCertificate: same name, role and addresses), and
replaces its files: the key and certificate are written to temporary files and
renamed over the old ones, the certificate last. The agent's server picks the
new pair up at its next handshake (common/grpcserve.py) and its links to the
schedulers reconnect with it.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import grpc
from cryptography import x509

from common.tls import TlsFiles, certificate_facts, issued_by_bundle, make_csr, write_atomic
from proto.v1 import node_pb2

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
    for path, data, mode in ((files.key, key_pem, 0o600), (files.cert, cert_pem, 0o644)):
        tmp = path.with_name(f".{path.name}.renew")
        tmp.write_bytes(b"")
        tmp.chmod(mode)
        tmp.write_bytes(data)
        tmp.replace(path)


def adopt_bundle(files: TlsFiles, bundle_pem: bytes) -> bool:
    """Write the cluster's trust bundle (a CA rotation, `cloud cluster rotate-ca`) as
    this host's ca.crt, by a rename; whether it changed. A bundle that shares no CA
    with the current one is refused: a rotation adds the new CA before it drops the old."""
    current = files.ca.read_bytes()
    if bundle_pem == current:
        return False
    offered = x509.load_pem_x509_certificates(bundle_pem)
    if not set(offered) & set(x509.load_pem_x509_certificates(current)):
        raise ValueError("the offered trust bundle shares no CA with this host's")
    write_atomic(files.ca, bundle_pem)
    log.info("wrote the cluster's trust bundle (%d CA certificates) to %s", len(offered), files.ca)
    return True


class CertificateRenewal(threading.Thread):
    """Checks the certificate now and then, and renews it through `link` when due."""

    def __init__(self, name: str, files: TlsFiles, link, on_renewed: Callable[[], None]):
        super().__init__(name="cert-renewal", daemon=True)
        self.host_name = name
        self.files = files
        self.link = link
        self.on_renewed = on_renewed
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._asked = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def request_now(self) -> None:
        """Renew at once, whatever the validity left (the schedulers ask during a CA rotation)."""
        self._asked.set()
        self._wake.set()

    def renew(self) -> str:
        """Renew now; the new certificate's serial."""
        csr_pem, key_pem = make_csr(self.host_name, "agent")
        reply = self.link.call("RenewCertificate", node_pb2.RenewCertificateRequest(csr_pem=csr_pem))
        if reply.ca_pem:
            adopt_bundle(self.files, reply.ca_pem)   # the new certificate may be from a new CA
        install(self.files, reply.certificate_pem, key_pem)
        self.link.reset()
        self.on_renewed()
        return certificate_facts(reply.certificate_pem).serial

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                cert_pem = self.files.cert.read_bytes()
                wait = check_interval(cert_pem)
                if renewal_due(cert_pem) or self._asked.is_set():
                    self._asked.clear()
                    old = certificate_facts(cert_pem)
                    serial = self.renew()
                    log.info("renewed this host's certificate: serial %s (was %s, expiring %s)",
                             serial, old.serial, time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                time.gmtime(old.not_after_ms / 1000)))
            except Exception as err:  # noqa: BLE001 - renewal must outlive every failure
                detail = f"{err.code().name}: {err.details()}" if isinstance(err, grpc.RpcError) else str(err)
                log.warning("certificate renewal failed (will retry): %s", detail)
                wait = 5.0
            self._wake.wait(wait)
            self._wake.clear()
        self.link.close()
