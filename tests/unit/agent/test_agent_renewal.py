"""When an agent renews its certificate, and how it replaces its files."""
import pytest

from common.renewal import check_interval, install, renewal_due
from common.tls import TlsFiles, certificate_facts, create_ca, make_csr, sign_csr


def test_renewal_is_due_when_a_third_of_the_validity_is_left(tmp_path):
    ca, ca_key = create_ca("t")
    csr, _ = make_csr("h1", "agent")
    cert = sign_csr(ca, ca_key, csr, "agent", ["127.0.0.1"], days=30)
    facts = certificate_facts(cert)
    lifetime_s = (facts.not_after_ms - facts.not_before_ms) / 1000
    issued_s = facts.not_before_ms / 1000
    assert not renewal_due(cert, now=issued_s + lifetime_s * 0.5)
    assert renewal_due(cert, now=issued_s + lifetime_s * 0.7)
    assert check_interval(cert) == 600.0


def test_install_replaces_key_and_certificate_and_refuses_a_foreign_one(tmp_path):
    ca, ca_key = create_ca("t")
    files = TlsFiles.in_dir(tmp_path, "h1")
    files.ca.write_bytes(ca)
    csr, key = make_csr("h1", "agent")
    cert = sign_csr(ca, ca_key, csr, "agent", [], days=1)
    install(files, cert, key)
    assert files.cert.read_bytes() == cert and oct(files.key.stat().st_mode & 0o777) == "0o600"
    other_ca, other_key = create_ca("other")
    foreign = sign_csr(other_ca, other_key, make_csr("h1", "agent")[0], "agent", [], days=1)
    with pytest.raises(Exception):
        install(files, foreign, key)
    assert files.cert.read_bytes() == cert
