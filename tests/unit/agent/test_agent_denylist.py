"""The agent's copy of the schedulers' deny-list (agent/denylist.py)."""
from agent.denylist import DeniedName, DenyList
from common.tls import ISSUE_BACKDATE_MS, CertificateFacts
from proto.v1 import node_pb2


def facts(name="sched-3", serial="aa", issued_ms=1_000_000) -> CertificateFacts:
    return CertificateFacts(common_name=name, role="scheduler", serial=serial,
                            not_before_ms=issued_ms - ISSUE_BACKDATE_MS, not_after_ms=issued_ms + 10**9, sans=())


def test_a_removed_schedulers_certificates_of_before_its_removal_are_refused():
    deny = DenyList()
    assert deny.update(5, {"sched-3": DeniedName(revoked_ms=2_000_000, current_serial="cc")}, ["bb"])
    assert deny.refuses(facts())                                   # issued before the removal
    assert not deny.refuses(facts(issued_ms=3_000_000))            # issued after it (enrolled again)
    assert not deny.refuses(facts(serial="cc"))                    # the one enrolled after it
    assert deny.refuses(facts(name="sched-1", serial="bb"))        # a revoked serial, whoever
    assert not deny.refuses(facts(name="sched-1"))


def test_only_a_newer_revision_replaces_the_list():
    deny = DenyList()
    deny.update(5, {"sched-3": DeniedName(2_000_000, "")}, [])
    # A removed scheduler answering a heartbeat with an older or equal, empty list changes nothing.
    assert not deny.update(5, {}, [])
    assert not deny.update(4, {}, [])
    assert deny.refuses(facts())
    assert deny.update(6, {}, [])                                  # readmitted
    assert not deny.refuses(facts())


def test_the_list_survives_a_restart_and_a_corrupt_file_is_ignored(tmp_path):
    path = tmp_path / "deny-list.json"
    DenyList(path).update_from(node_pb2.DenyList(
        revision=7, serials=["bb"], names=[node_pb2.DeniedName(name="sched-3", revoked_at_ms=2_000_000)]))
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    again = DenyList(path)
    assert again.revision == 7 and again.refuses(facts()) and again.refuses(facts(name="x", serial="bb"))
    path.write_text("{not json")
    broken = DenyList(path)
    assert broken.revision == 0 and not broken.refuses(facts())
    assert broken.update(1, {}, [])
