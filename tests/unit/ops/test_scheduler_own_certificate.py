"""A scheduler renews its own certificate (scheduler/own_certificate.py): when a third
of its validity is left, and at once in a CA rotation's reissue phase; signed with
the CA key it holds, recorded like every renewal, its SANs kept."""
from pathlib import Path

from common.tls import (TlsFiles, certificate_facts, create_ca, fingerprint, issuer_fingerprint,
                        make_csr, sign_csr)
from scheduler.api.signing import CertificateSigner
from scheduler.own_certificate import OwnCertificate
from scheduler.state.machine import ClusterState

DAY = 86400.0


class StateProposer:
    """Applies proposals to a real ClusterState, as Raft would on every node."""

    def __init__(self):
        self.state, self.index = ClusterState(), 0

    def propose(self, op, args):
        self.index += 1
        result = self.state.apply(op, args, {"rid": f"r{self.index}", "ts": 1_000 + self.index,
                                             "index": self.index})
        assert "error" not in result, result
        return result


def scheduler_files(tmp_path: Path, days: float) -> tuple[TlsFiles, Path]:
    ca, ca_key = create_ca("t")
    key_file = tmp_path / "ca.key"
    key_file.write_bytes(ca_key)
    files = TlsFiles.in_dir(tmp_path, "sched-1")
    files.ca.write_bytes(ca)
    csr, key = make_csr("sched-1", "scheduler")
    files.cert.write_bytes(sign_csr(ca, ca_key, csr, "scheduler", ["127.0.0.1", "10.1.2.3"], days=days))
    files.key.write_bytes(key)
    return files, key_file


def keeper(tmp_path, days):
    files, key_file = scheduler_files(tmp_path, days)
    proposer = StateProposer()
    own = OwnCertificate("sched-1", files, CertificateSigner(files, key_file, 30 * DAY), proposer,
                         peers=lambda: [])
    return own, files, proposer


def test_a_fresh_certificate_is_left_alone(tmp_path):
    own, files, proposer = keeper(tmp_path, days=30)
    before = files.cert.read_bytes()
    assert own.step({}) is None
    assert files.cert.read_bytes() == before and proposer.index == 0


def test_a_certificate_with_a_third_left_is_renewed_with_its_names_and_recorded(tmp_path):
    # 5 minutes back-dated + 1 minute ahead: far less than a third is left.
    own, files, proposer = keeper(tmp_path, days=60 / DAY)
    old = certificate_facts(files.cert.read_bytes())
    serial = own.step({})
    new = certificate_facts(files.cert.read_bytes())
    assert serial == new.serial != old.serial
    assert set(new.sans) == set(old.sans) and new.role == "scheduler" and new.common_name == "sched-1"
    assert new.not_after_ms - new.not_before_ms > 29 * DAY * 1000
    assert proposer.state.certificates["scheduler/sched-1"]["serial"] == new.serial
    assert oct(files.key.stat().st_mode & 0o777) == "0o600"
    assert own.step({}) is None                     # now fresh


def test_in_the_reissue_phase_it_renews_from_the_new_ca_at_once(tmp_path):
    own, files, proposer = keeper(tmp_path, days=30)
    old_ca = files.ca.read_bytes()
    new_ca, new_key = create_ca("t", generation="2")
    # What `rotate-ca begin` leaves on the scheduler holding the key: the bundle, the new key.
    files.ca.write_bytes(old_ca + new_ca)
    (tmp_path / "ca.key").write_bytes(new_key)
    rotation = {"phase": "begun", "bundle": (old_ca + new_ca).decode(), "new_fp": fingerprint(new_ca)}
    assert own.step(rotation) is None               # begun: nothing to do yet
    rotation["phase"] = "reissue"
    assert own.step(rotation) is not None
    assert issuer_fingerprint(files.cert.read_bytes(), old_ca + new_ca) == fingerprint(new_ca)
    assert own.step(rotation) is None


def test_without_the_ca_key_and_no_peer_it_fails_and_keeps_its_files(tmp_path):
    own, files, proposer = keeper(tmp_path, days=60 / DAY)
    (tmp_path / "ca.key").unlink()
    before = files.cert.read_bytes(), files.key.read_bytes()
    try:
        own.step({})
        raise AssertionError("renewal without a signer must fail")
    except RuntimeError as err:
        assert "no peers" in str(err)
    assert (files.cert.read_bytes(), files.key.read_bytes()) == before
    assert own.step({}) is None                     # waits RETRY_AFTER before trying again


def test_a_certificate_replaced_from_outside_is_looked_at_at_once(tmp_path):
    own, files, proposer = keeper(tmp_path, days=30)
    assert own.step({}) is None                     # fresh: the next look is minutes away
    short = sign_csr(files.ca.read_bytes(), (tmp_path / "ca.key").read_bytes(),
                     make_csr("sched-1", "scheduler")[0], "scheduler", ["127.0.0.1"], days=60 / DAY)
    files.cert.write_bytes(short)
    assert own.step({}) is not None
