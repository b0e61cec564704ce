"""Small pieces of the operations feature: quorum rule, PKI helper, token TTLs,
fingerprints, backup archives, request ids."""
import json
import logging

import pytest

from agent.enroll import EnrollError, normalize_fingerprint
from cli.commands.cluster_ops import parse_ttl
from cli.errors import UsageError
from cli.pki import main as pki
from common import requestid
from common.errors import InvalidArgument
from scheduler.api.operations import BACKUP_FORMAT, ca_fingerprint, parse_archive, state_digest
from scheduler.membership import check_address, quorum_after_removal


def test_quorum_after_removal():
    three = {"a:1": True, "b:1": True, "c:1": False}
    assert quorum_after_removal(three, "c:1") == (True, "")      # {a, b}: 2 of 2
    fine, why = quorum_after_removal(three, "b:1")                # {a, c}: 1 of 2
    assert not fine and "1 of the 2" in why
    assert not quorum_after_removal({"a:1": True}, "a:1")[0]
    assert quorum_after_removal({f"n{i}:1": i != 4 for i in range(5)}, "n0:1")[0]  # 3 of 4 reachable


def test_addresses_are_checked():
    assert check_address("api_address", "10.0.0.1:7101") == "10.0.0.1:7101"
    for bad in ("", "host", "host:0", "host:99999", "0.0.0.0:7101"):
        with pytest.raises(InvalidArgument) as err:
            check_address("api_address", bad)
        assert err.value.field == "api_address"


def test_pki_is_idempotent_and_says_so(tmp_path, capsys):
    def run(*argv):
        assert pki(list(map(str, argv))) == 0
        return capsys.readouterr().out.strip()

    assert run("ca", tmp_path / "ca", "--cluster-name", "t") == "changed"
    assert run("ca", tmp_path / "ca") == "ok"
    assert run("secret", tmp_path / "cluster.key") == "changed"
    assert run("secret", tmp_path / "cluster.key") == "ok"
    assert oct((tmp_path / "cluster.key").stat().st_mode & 0o777) == "0o600"
    issue = ("issue", tmp_path / "ca", tmp_path / "certs", "sched-1", "scheduler", "--san", "10.0.0.1")
    assert run(*issue) == "changed"
    assert run(*issue) == "ok"
    assert run(*issue, "--san", "10.0.0.2") == "changed"         # a new address: issue again
    fingerprint = run("fingerprint", tmp_path / "ca" / "ca.crt")
    assert fingerprint == ca_fingerprint((tmp_path / "ca" / "ca.crt").read_bytes())
    assert normalize_fingerprint(fingerprint.upper().replace("SHA256:", "")) == fingerprint


def test_fingerprint_and_ttl_input():
    with pytest.raises(EnrollError):
        normalize_fingerprint("sha256:xyz")
    assert parse_ttl("90s") == 90 and parse_ttl("1h") == 3600 and parse_ttl("2d") == 172800
    with pytest.raises(UsageError):
        parse_ttl("soon")


def test_backup_archives_are_checked():
    state = {"hosts": {}, "instances": {"i-1": {"name": "a"}}}
    good = json.dumps({"format": BACKUP_FORMAT, "sha256": state_digest(state), "state": state}).encode()
    assert parse_archive(good)["state"] == state
    for bad in (b"", b"not json", json.dumps({"format": "other"}).encode(),
                good.replace(b'"a"', b'"b"')):
        with pytest.raises(InvalidArgument) as err:
            parse_archive(bad)
        assert err.value.field == "archive"


def test_request_ids_reach_log_records():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
    with requestid.bound("req-abc"):
        requestid.RequestIdFilter().filter(record)
    assert record.request_id == "req-abc"
    outside = logging.LogRecord("t", logging.INFO, __file__, 1, "m", None, None)
    requestid.RequestIdFilter().filter(outside)
    assert not hasattr(outside, "request_id")
    assert requestid.clean("a b\nc" + "x" * 300) == ("abc" + "x" * 300)[:128]
    with requestid.bound("") as fresh:
        assert fresh.startswith("req-")
