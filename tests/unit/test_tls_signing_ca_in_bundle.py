"""Signing with a trust bundle of several CAs: the issuer is the CA of the key,
whichever comes first in ca.crt (docs/security.md, Finding 6)."""
import pytest
from cryptography import x509

from common.renewal import install
from common.errors import FailedPrecondition
from common.tls import TlsFiles, create_ca, issued_by_bundle, make_csr, sign_csr
from scheduler.api.signing import CertificateSigner


def _issuer(cert_pem: bytes) -> x509.Name:
    return x509.load_pem_x509_certificate(cert_pem).issuer


@pytest.mark.parametrize("new_first", [False, True])
def test_sign_csr_signs_with_the_ca_of_the_key_in_a_bundle(new_first):
    old, _ = create_ca("old")
    new, new_key = create_ca("new")
    bundle = new + old if new_first else old + new
    cert_pem = sign_csr(bundle, new_key, make_csr("h1", "agent")[0], "agent", [], days=1)
    cert = x509.load_pem_x509_certificate(cert_pem)
    cert.verify_directly_issued_by(x509.load_pem_x509_certificate(new))
    assert cert.issuer == x509.load_pem_x509_certificate(new).subject
    assert issued_by_bundle(cert, bundle) and not issued_by_bundle(cert, old)


def test_sign_csr_refuses_a_key_whose_ca_is_not_in_the_bundle():
    old, _ = create_ca("old")
    _, stray_key = create_ca("stray")
    with pytest.raises(ValueError, match="belongs to the CA key"):
        sign_csr(old, stray_key, make_csr("h1", "agent")[0], "agent", [], days=1)


def test_the_signer_uses_the_new_key_with_an_old_plus_new_bundle(tmp_path):
    old, old_key = create_ca("old")
    new, new_key = create_ca("new")
    tls = TlsFiles.in_dir(tmp_path / "tls", "sched-1")
    tls.ca.parent.mkdir()
    tls.ca.write_bytes(old + new)
    key_file = tmp_path / "ca.key"
    key_file.write_bytes(new_key)
    cert, facts = CertificateSigner(tls, key_file, 3600).sign(make_csr("h1", "agent")[0], "agent", [])
    assert _issuer(cert) == x509.load_pem_x509_certificate(new).subject
    assert facts.common_name == "h1"
    _, stray_key = create_ca("stray")
    key_file.write_bytes(stray_key)
    with pytest.raises(FailedPrecondition):
        CertificateSigner(tls, key_file, 3600).sign(make_csr("h1", "agent")[0], "agent", [])


def test_an_agent_installs_a_certificate_from_any_ca_of_its_bundle(tmp_path):
    old, old_key = create_ca("old")
    new, new_key = create_ca("new")
    files = TlsFiles.in_dir(tmp_path, "h1")
    files.ca.write_bytes(old + new)
    for ca, ca_key in ((old, old_key), (new, new_key)):
        csr, key = make_csr("h1", "agent")
        cert = sign_csr(ca, ca_key, csr, "agent", [], days=1)
        install(files, cert, key)
        assert files.cert.read_bytes() == cert
    foreign, foreign_key = create_ca("foreign")
    csr, key = make_csr("h1", "agent")
    with pytest.raises(ValueError, match="not from a CA this host trusts"):
        install(files, sign_csr(foreign, foreign_key, csr, "agent", [], days=1), key)
    assert files.cert.read_bytes() == cert


def test_an_agent_adopts_a_bundle_only_if_it_shares_a_ca_with_its_own(tmp_path):
    from common.renewal import adopt_bundle
    old, _ = create_ca("old")
    new, _ = create_ca("new")
    stray, _ = create_ca("stray")
    files = TlsFiles.in_dir(tmp_path, "h1")
    files.ca.write_bytes(old)
    assert adopt_bundle(files, old + new) and files.ca.read_bytes() == old + new
    assert not adopt_bundle(files, old + new)
    with pytest.raises(ValueError, match="shares no CA"):
        adopt_bundle(files, stray)
    assert adopt_bundle(files, new) and files.ca.read_bytes() == new


def test_finish_is_refused_naming_what_is_still_from_the_old_ca():
    from common.errors import FailedPrecondition as Refused
    from common.tls import fingerprint
    from scheduler.state.machine import ClusterState
    old, _ = create_ca("old")
    new, _ = create_ca("new")
    state = ClusterState()
    state.host_names["h1"] = "h-1"
    ctx = {"ts": 1000}
    state.apply("ca_rotation.begin", {"new_ca": new.decode(), "old_ca": old.decode(),
                                      "new_fp": fingerprint(new), "old_fp": fingerprint(old)}, ctx)
    assert state.ca_rotation["bundle"] == (old + new).decode()
    state.apply("ca_rotation.member", {"name": "sched-1", "fp": fingerprint(old)}, ctx)
    state.apply("ca_rotation.reissue", {}, ctx)
    from scheduler.state import trust
    with pytest.raises(Refused, match="agent/h1, scheduler/sched-1"):
        trust.finish(state, trust.NoArgs(), ctx)
    assert state.ca_rotation["phase"] == "reissue"
    state.certificates["agent/h1"] = {"serial": "1", "ca": fingerprint(new)}
    state.apply("ca_rotation.member", {"name": "sched-1", "fp": fingerprint(new)}, ctx)
    assert state.apply("ca_rotation.finish", {}, ctx) == {"phase": "finished"}
    assert state.ca_rotation["bundle"] == new.decode()
    assert ClusterState.from_dict(state.to_dict()).ca_rotation["phase"] == "finished"
