"""Renewing this host's certificate before it expires.

Certificates are short-lived (the schedulers' `certificate_lifetime`, 30 days by
default). When less than a third of its validity is left, the agent makes a new
key here and asks a scheduler to sign it over the Node API with the current
certificate (Node.RenewCertificate), then replaces its files (common/renewal.py).
Its links to the schedulers reconnect with the new pair.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import grpc

from common.renewal import adopt_bundle, check_interval, install, renewal_due
from common.tls import TlsFiles, certificate_facts, make_csr
from proto.v1 import node_pb2

log = logging.getLogger(__name__)


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
