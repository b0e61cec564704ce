"""Role names bound into every certificate (common/tls.py), which clients check."""
from __future__ import annotations

import pytest
from cryptography import x509

from cli.pki import main as pki
from common.tls import ROLE_DOMAIN, ensure_ca, issue, role_name


def dns_names(path) -> list[str]:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value \
        .get_values_for_type(x509.DNSName)


def test_role_names():
    assert ROLE_DOMAIN == "thecloud.internal"
    assert role_name("scheduler") == role_name("scheduler", "sched-2") == "scheduler.thecloud.internal"
    assert role_name("agent", "host-7") == "host-7.agent.thecloud.internal"
    assert role_name("admin", "admin") == "admin.thecloud.internal"
    assert role_name("client", "bob") == "client.thecloud.internal"
    with pytest.raises(ValueError):
        role_name("agent")


@pytest.mark.parametrize("name,role", [("sched-1", "scheduler"), ("host-1", "agent"),
                                       ("admin", "admin"), ("bob", "client")])
def test_sign_csr_adds_the_role_name_to_the_sans_asked_for(tmp_path, name, role):
    ca = ensure_ca(tmp_path / "ca", "test")
    files = issue(ca, tmp_path / "tls", name, role, ["127.0.0.1", "node.example"])
    names = dns_names(files.cert)
    assert role_name(role, name) in names
    assert {"node.example", name} <= set(names)


def test_pki_issue_reissues_a_certificate_without_its_role_name(tmp_path, capsys, monkeypatch):
    ca = ensure_ca(tmp_path / "ca", "test")
    # A certificate from before role names: stands in for one issued by the old code.
    monkeypatch.setattr("common.tls.role_name", lambda role, name="": name)
    issue(ca, tmp_path / "certs", "sched-1", "scheduler", ["127.0.0.1"])
    monkeypatch.undo()
    assert role_name("scheduler") not in dns_names(tmp_path / "certs" / "sched-1.crt")
    args = ["issue", str(tmp_path / "ca"), str(tmp_path / "certs"), "sched-1", "scheduler", "--san", "127.0.0.1"]
    assert pki(args) == 0 and capsys.readouterr().out.strip() == "changed"
    assert role_name("scheduler") in dns_names(tmp_path / "certs" / "sched-1.crt")
    assert pki(args) == 0 and capsys.readouterr().out.strip() == "ok"
