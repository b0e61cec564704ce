"""Signing node certificates with the CA key: at enrollment and at renewal.

Only schedulers that hold the CA key (`ca_key_file`) sign; the others answer
FAILED_PRECONDITION and the caller tries another scheduler. The trust bundle
(`ca.crt`) may hold several CAs; the issuer is always the CA of the key.
"""
from __future__ import annotations

import logging
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from common.errors import FailedPrecondition, InvalidArgument
from common.tls import (CertificateFacts, certificate_facts, issuer_fingerprint, sign_csr,
                        signing_certificate)

log = logging.getLogger(__name__)

MAX_CSR_BYTES = 16 * 1024


def csr_common_name(csr_pem: bytes, field: str = "csr_pem") -> str:
    if not csr_pem or len(csr_pem) > MAX_CSR_BYTES:
        raise InvalidArgument(field, "a PEM certificate signing request is required")
    try:
        csr = x509.load_pem_x509_csr(csr_pem)
        return csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    except (ValueError, IndexError):
        raise InvalidArgument(field, "is not a valid PEM certificate signing request") from None


class CertificateSigner:
    def __init__(self, tls, ca_key_file: Path, lifetime_s: float):
        self.tls = tls
        self.ca_key_file = Path(ca_key_file)
        self.lifetime_s = float(lifetime_s)

    def ca_pem(self) -> bytes:
        return self.tls.ca.read_bytes()

    def ca_of(self, cert_pem: bytes) -> str:
        """The fingerprint of the CA (of the trust bundle) that signed `cert_pem`."""
        return issuer_fingerprint(cert_pem, self.ca_pem())

    def can_sign(self) -> bool:
        return self.ca_key_file.exists()

    def sign(self, csr_pem: bytes, role: str, sans: list[str]) -> tuple[bytes, CertificateFacts]:
        """(certificate PEM, its facts) for `role` with exactly `sans` (and the CSR's CN)."""
        if not self.ca_key_file.exists():
            raise FailedPrecondition("this scheduler holds no CA key and cannot sign; try another one")
        ca_pem, ca_key_pem = self.ca_pem(), self.ca_key_file.read_bytes()
        try:
            signing_certificate(ca_pem, serialization.load_pem_private_key(ca_key_pem, password=None))
        except ValueError:
            raise FailedPrecondition(f"no certificate in {self.tls.ca} belongs to the CA key "
                                     f"{self.ca_key_file}") from None
        try:
            cert = sign_csr(ca_pem, ca_key_pem, csr_pem, role, sans, days=self.lifetime_s / 86400)
        except ValueError as err:
            raise InvalidArgument("csr_pem", str(err)) from None
        return cert, certificate_facts(cert)

    def renew(self, proposer, current: CertificateFacts, csr_pem: bytes) -> bytes:
        """A new certificate for the identity of `current` (its name, role and SANs) from
        `csr_pem`, recorded in the replicated state (`certificate.renew`, which refuses
        a revoked identity); agents, schedulers and admins renew through here."""
        if csr_common_name(csr_pem) != current.common_name:
            raise InvalidArgument("csr_pem", f"its common name is not {current.common_name!r}")
        sans = [a for a in current.sans if a != current.common_name]
        cert, facts = self.sign(csr_pem, current.role, sans)
        proposer.propose("certificate.renew", {
            "role": current.role, "name": current.common_name, "serial": facts.serial,
            "not_after_ms": facts.not_after_ms, "ca": self.ca_of(cert),
            "old": {"serial": current.serial, "issued_ms": current.issued_ms}})
        log.info("renewed the certificate of %s/%s (serial %s, was %s)", current.role,
                 current.common_name, facts.serial, current.serial)
        return cert
